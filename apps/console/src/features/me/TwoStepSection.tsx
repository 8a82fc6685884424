import type { MfaFactor } from '@gatehouse/sdk/browser';
import {
  Alert,
  Badge,
  Button,
  Card,
  Code,
  CopyButton,
  Group,
  Image,
  List,
  Stack,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type ReactNode, useState } from 'react';
import { CodeInput } from '../../components/CodeInput';
import { FormError } from '../../components/FormError';
import { useStepUp } from '../../components/StepUp';
import { api } from '../../lib/api';
import { formatDateTime } from '../../lib/dates';

const mfaKey = ['me', 'mfa'];

/**
 * Two-step verification: an authenticator app (QR code and the key to type by hand), text
 * messages to the confirmed mobile, and recovery codes shown once (copy or download) and
 * renewable. Each change may ask the person to confirm it is them first (step-up).
 */
export function TwoStepSection() {
  const queryClient = useQueryClient();
  const stepUp = useStepUp();
  const status = useQuery({ queryKey: mfaKey, queryFn: () => api.me.mfa.status() });
  const [codes, setCodes] = useState<string[] | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['me'] });

  const regenerate = useMutation({
    mutationFn: () => stepUp(() => api.me.mfa.regenerateRecoveryCodes()),
    onSuccess: (answer) => {
      setCodes(answer.recovery_codes);
      void refresh();
    },
  });
  const remove = useMutation({
    mutationFn: (factorId: string) => stepUp(() => api.me.mfa.removeFactor(factorId)),
    onSuccess: refresh,
  });
  const confirmed = status.data?.factors.filter((f) => f.confirmed) ?? [];
  const hasTotp = confirmed.some((f) => f.type === 'totp');
  const hasSms = confirmed.some((f) => f.type === 'sms');

  return (
    <Card withBorder padding="lg">
      <Stack gap="md">
        <div>
          <Title order={2} size="h3">
            Two-step verification
          </Title>
          <Text size="sm" c="dimmed">
            After your password, sign-in asks for a code from your phone.
          </Text>
        </div>
        {confirmed.length ? (
          <Stack gap="xs">
            {confirmed.map((factor) => (
              <FactorRow
                key={factor.id}
                factor={factor}
                onRemove={() => remove.mutate(factor.id)}
                removing={remove.isPending && remove.variables === factor.id}
              />
            ))}
            <FormError error={remove.error} title="The factor was not removed" />
          </Stack>
        ) : (
          <Text size="sm">Two-step verification is off.</Text>
        )}
        {codes ? <RecoveryCodes codes={codes} onDone={() => setCodes(null)} /> : null}
        {!hasTotp ? <TotpSetup onDone={(c) => (c ? setCodes(c) : null)} /> : null}
        {!hasSms ? <SmsSetup onDone={(c) => (c ? setCodes(c) : null)} /> : null}
        {confirmed.length ? (
          <Group gap="sm">
            <Text size="sm">
              Recovery codes left: {status.data?.recovery_codes_remaining ?? '—'}
            </Text>
            <Button
              variant="default"
              size="xs"
              onClick={() => regenerate.mutate()}
              loading={regenerate.isPending}
            >
              Get new recovery codes
            </Button>
          </Group>
        ) : null}
        <FormError error={regenerate.error} title="No new recovery codes" />
      </Stack>
    </Card>
  );
}

function FactorRow(props: { factor: MfaFactor; onRemove: () => void; removing: boolean }) {
  const { factor } = props;
  return (
    <Group justify="space-between" wrap="wrap">
      <div>
        <Group gap="xs">
          <Text fw={500}>
            {factor.type === 'totp' ? 'Authenticator app' : `Text message to ${factor.phone}`}
          </Text>
          <Badge color="teal" variant="light">
            On
          </Badge>
        </Group>
        <Text size="xs" c="dimmed">
          Added {formatDateTime(factor.created_at)}
          {factor.last_used_at ? ` · last used ${formatDateTime(factor.last_used_at)}` : ''}
        </Text>
      </div>
      <Button
        variant="subtle"
        color="red"
        size="xs"
        onClick={props.onRemove}
        loading={props.removing}
      >
        Remove
      </Button>
    </Group>
  );
}

function RecoveryCodes({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  const text = codes.join('\n');
  const download = () => {
    const url = URL.createObjectURL(new Blob([`${text}\n`], { type: 'text/plain' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = 'gatehouse-recovery-codes.txt';
    a.click();
    URL.revokeObjectURL(url);
  };
  return (
    <Alert color="yellow" variant="light" title="Save your recovery codes now">
      <Stack gap="xs">
        <Text size="sm">
          Each code signs you in once if you lose your phone. They are shown only this time.
        </Text>
        <List size="sm" aria-label="Recovery codes" listStyleType="none" ff="monospace">
          {codes.map((c) => (
            <List.Item key={c}>{c}</List.Item>
          ))}
        </List>
        <Group gap="xs">
          <CopyButton value={text}>
            {({ copied, copy }) => (
              <Button size="xs" variant="default" onClick={copy}>
                {copied ? 'Copied' : 'Copy'}
              </Button>
            )}
          </CopyButton>
          <Button size="xs" variant="default" onClick={download}>
            Download
          </Button>
          <Button size="xs" onClick={onDone}>
            I saved them
          </Button>
        </Group>
      </Stack>
    </Alert>
  );
}

function TotpSetup({ onDone }: { onDone: (codes: string[] | null) => void }) {
  const queryClient = useQueryClient();
  const stepUp = useStepUp();
  const [code, setCode] = useState('');
  const start = useMutation({ mutationFn: () => stepUp(() => api.me.mfa.enrolTotp()) });
  const confirm = useMutation({
    mutationFn: (value: string) => api.me.mfa.confirmTotp(value),
    onSuccess: async (answer) => {
      start.reset();
      setCode('');
      onDone(answer.recovery_codes);
      await queryClient.invalidateQueries({ queryKey: mfaKey });
    },
    onError: () => setCode(''),
  });
  if (!start.data)
    return (
      <Stack gap={4}>
        <Button
          variant="light"
          w="fit-content"
          onClick={() => start.mutate()}
          loading={start.isPending}
        >
          Set up an authenticator app
        </Button>
        <FormError error={start.error} title="Setup did not start" />
      </Stack>
    );
  return (
    <ConfirmFactorCard
      codeLabel="Code from the app"
      errorTitle="The app is not set up yet"
      code={code}
      setCode={setCode}
      confirm={confirm}
      onCancel={() => start.reset()}
    >
      <Text fw={500}>Scan this code with your authenticator app</Text>
      <Image src={start.data.qr_code} alt="QR code for your authenticator app" w={180} h={180} />
      <Text size="sm">
        Or type this key by hand: <Code data-testid="totp-secret">{start.data.secret}</Code>
      </Text>
    </ConfirmFactorCard>
  );
}

function SmsSetup({ onDone }: { onDone: (codes: string[] | null) => void }) {
  const queryClient = useQueryClient();
  const stepUp = useStepUp();
  const [phone, setPhone] = useState('');
  const [code, setCode] = useState('');
  const start = useMutation({
    mutationFn: (value: string) => stepUp(() => api.me.mfa.enrolSms(value)),
  });
  const confirm = useMutation({
    mutationFn: (value: string) => api.me.mfa.confirmSms(value),
    onSuccess: async (answer) => {
      start.reset();
      setCode('');
      onDone(answer.recovery_codes);
      await queryClient.invalidateQueries({ queryKey: ['me'] });
    },
    onError: () => setCode(''),
  });
  if (!start.data)
    return (
      <form
        method="post"
        onSubmit={(e) => {
          e.preventDefault();
          start.mutate(phone);
        }}
      >
        <Group align="flex-end" gap="xs" wrap="wrap">
          <TextInput
            label="Mobile number for text messages"
            description="In international form, like +14155550123. It becomes your profile’s mobile."
            type="tel"
            value={phone}
            onChange={(e) => setPhone(e.currentTarget.value)}
            miw={260}
          />
          <Button type="submit" variant="light" loading={start.isPending} disabled={!phone}>
            Send a code
          </Button>
        </Group>
        <FormError error={start.error} title="No code was sent" />
      </form>
    );
  return (
    <ConfirmFactorCard
      codeLabel="Code from the text message"
      errorTitle="Text messages are not set up yet"
      code={code}
      setCode={setCode}
      confirm={confirm}
      onCancel={() => start.reset()}
    >
      <Text size="sm">We texted a code to {start.data.phone}.</Text>
    </ConfirmFactorCard>
  );
}

/** The last step of setting up a factor: what to do, the code it gives, Turn on or Cancel. */
function ConfirmFactorCard(props: {
  children: ReactNode;
  codeLabel: string;
  errorTitle: string;
  code: string;
  setCode: (code: string) => void;
  confirm: { mutate: (code: string) => void; error: unknown; isPending: boolean };
  onCancel: () => void;
}) {
  return (
    <Card withBorder padding="md" bg="gray.0">
      <form
        method="post"
        onSubmit={(e) => {
          e.preventDefault();
          props.confirm.mutate(props.code);
        }}
      >
        <Stack gap="sm">
          {props.children}
          <CodeInput
            label={props.codeLabel}
            value={props.code}
            onChange={props.setCode}
            onComplete={(v) => props.confirm.mutate(v)}
          />
          <FormError error={props.confirm.error} title={props.errorTitle} />
          <Group gap="xs">
            <Button
              type="submit"
              loading={props.confirm.isPending}
              disabled={props.code.length !== 6}
            >
              Turn on
            </Button>
            <Button variant="default" onClick={props.onCancel}>
              Cancel
            </Button>
          </Group>
        </Stack>
      </form>
    </Card>
  );
}
