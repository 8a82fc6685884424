import { Input, PinInput } from '@mantine/core';

/** A 6-digit one-time code, typed or pasted; `one-time-code` lets phones offer the SMS code. */
export function CodeInput(props: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  error?: string | undefined;
  onComplete?: (value: string) => void;
}) {
  return (
    <Input.Wrapper label={props.label} error={props.error} id="code-input-wrapper">
      <PinInput
        length={6}
        type="number"
        oneTimeCode
        value={props.value}
        onChange={props.onChange}
        onComplete={props.onComplete}
        error={Boolean(props.error)}
        getInputProps={(index) => ({ 'aria-label': `${props.label}, digit ${index + 1} of 6` })}
        mt={4}
      />
    </Input.Wrapper>
  );
}
