import { isGatehouseError } from '@gatehouse/sdk/browser';
import {
  Button,
  Modal,
  PasswordInput,
  SegmentedControl,
  Stack,
  Text,
  TextInput,
} from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { createContext, type ReactNode, useCallback, useContext, useRef, useState } from 'react';
import { api } from '../lib/api';
import { CodeInput } from './CodeInput';
import { FormError } from './FormError';

type Confirm = <T>(action: () => Promise<T>) => Promise<T>;
const StepUpContext = createContext<Confirm>((action) => action());

const methodLabels: Record<string, string> = {
  password: 'Password',
  totp: 'Authenticator app',
  sms: 'Text message',
  recovery_code: 'Recovery code',
};

/**
 * Sensitive acts (a new factor, recovery codes, linking a provider…) may answer
 * `step_up_required`. `useStepUp()(action)` runs the action; on that answer it asks the person to
 * confirm it is them (password, or a second factor when they have one), then runs it once more.
 */
export function StepUpProvider({ children }: { children: ReactNode }) {
  const [request, setRequest] = useState<{ methods: string[] } | null>(null);
  const pending = useRef<{ resolve: () => void; reject: (e: unknown) => void } | null>(null);

  const confirm = useCallback<Confirm>(async (action) => {
    try {
      return await action();
    } catch (error) {
      if (!isGatehouseError(error, 'step_up_required')) throw error;
      const methods = (error.problem?.methods as string[] | undefined) ?? ['password'];
      await new Promise<void>((resolve, reject) => {
        pending.current = { resolve, reject };
        setRequest({ methods });
      });
      return action();
    }
  }, []);

  return (
    <StepUpContext.Provider value={confirm}>
      {children}
      {request ? (
        <StepUpDialog
          methods={request.methods}
          onDone={() => {
            setRequest(null);
            pending.current?.resolve();
          }}
          onCancel={() => {
            setRequest(null);
            pending.current?.reject(new Error('cancelled'));
          }}
        />
      ) : null}
    </StepUpContext.Provider>
  );
}

export const useStepUp = () => useContext(StepUpContext);

function StepUpDialog(props: { methods: string[]; onDone: () => void; onCancel: () => void }) {
  const methods = props.methods.filter((m) => m in methodLabels);
  const [method, setMethod] = useState(methods[0] ?? 'password');
  const [secret, setSecret] = useState('');
  const [smsSent, setSmsSent] = useState(false);
  const prove = useMutation({
    mutationFn: () =>
      api.auth.stepUp(
        method === 'password'
          ? { method: 'password', password: secret }
          : { method: method as 'totp' | 'sms' | 'recovery_code', code: secret },
      ),
    onSuccess: props.onDone,
  });
  const sendSms = useMutation({
    mutationFn: () => api.auth.sendStepUpSms(),
    onSuccess: () => setSmsSent(true),
  });
  return (
    <Modal opened onClose={props.onCancel} title="Confirm it is you" centered>
      <form
        method="post"
        onSubmit={(e) => {
          e.preventDefault();
          prove.mutate();
        }}
      >
        <Stack gap="sm">
          <Text size="sm">This change needs a recent sign-in. Confirm it to continue.</Text>
          {methods.length > 1 ? (
            <SegmentedControl
              value={method}
              onChange={(v) => {
                setMethod(v);
                setSecret('');
              }}
              data={methods.map((m) => ({ value: m, label: methodLabels[m] ?? m }))}
              aria-label="How to confirm"
            />
          ) : null}
          {method === 'password' ? (
            <PasswordInput
              label="Your password"
              autoComplete="current-password"
              value={secret}
              onChange={(e) => setSecret(e.currentTarget.value)}
              data-autofocus
            />
          ) : method === 'recovery_code' ? (
            <TextInput
              label="Recovery code"
              value={secret}
              onChange={(e) => setSecret(e.currentTarget.value)}
            />
          ) : (
            <>
              {method === 'sms' ? (
                <Button
                  variant="light"
                  w="fit-content"
                  onClick={() => sendSms.mutate()}
                  loading={sendSms.isPending}
                >
                  {smsSent ? 'Send another code' : 'Send code'}
                </Button>
              ) : null}
              <CodeInput label="Verification code" value={secret} onChange={setSecret} />
            </>
          )}
          <FormError error={prove.error ?? sendSms.error} title="Not confirmed" />
          <Button type="submit" loading={prove.isPending} disabled={!secret}>
            Confirm
          </Button>
        </Stack>
      </form>
    </Modal>
  );
}
