import { isGatehouseError } from '@gatehouse/sdk/browser';
import { Alert, Badge, Button, Group, List, Loader, Stack, Text, TextInput } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useNavigate, useParams } from '@tanstack/react-router';
import { useState } from 'react';
import { AuthCard } from '../../components/AuthCard';
import { FormError } from '../../components/FormError';
import { AnchorLink, ButtonLink } from '../../components/links';
import { api } from '../../lib/api';
import { formatDateTime } from '../../lib/dates';
import { messageOf } from '../../lib/problems';
import { useMe } from '../../lib/session';
import { NewPasswordFields } from '../auth/NewPasswordFields';

const closedStatus: Record<string, string> = {
  expired: 'This invitation has expired. Ask the person who invited you to send a new one.',
  revoked: 'This invitation was withdrawn by the organization.',
  accepted: 'This invitation has already been accepted.',
  rejected: 'This invitation was declined.',
};

/**
 * The page the invitation mail links to: who invites, to which organization, with which roles.
 * Accept signed in as the invited address, or sign up / sign in first and come back here.
 */
export function InvitationPage() {
  const { token } = useParams({ strict: false }) as { token: string };
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const me = useMe();
  const preview = useQuery({
    queryKey: ['invitation', token],
    queryFn: () => api.invitations.preview(token),
    retry: false,
  });
  const here = `/invitations/${token}`;
  const done = async () => {
    await queryClient.invalidateQueries();
    await navigate({ to: '/', search: { welcome: preview.data?.organization.name } });
  };
  const accept = useMutation({
    mutationFn: () => api.invitations.accept(token, {}),
    onSuccess: done,
  });
  const signUpAndAccept = useMutation({
    mutationFn: async (input: { password: string; first_name: string; last_name: string }) => {
      await api.invitations.accept(token, input);
      // Acceptance answers bearer tokens; the console's session is a cookie, so sign in with
      // the password just chosen.
      await api.auth.login({
        email: preview.data!.email,
        password: input.password,
        mode: 'cookie',
      });
    },
    onSuccess: done,
  });
  const reject = useMutation({
    mutationFn: () => api.invitations.reject(token),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['invitation', token] }),
  });

  if (preview.isPending || me.isPending)
    return (
      <AuthCard title="Invitation">
        <Group justify="center">
          <Loader aria-label="Loading the invitation" />
        </Group>
      </AuthCard>
    );
  if (preview.isError)
    return (
      <AuthCard title="This invitation cannot be used">
        <Stack>
          <Text>
            {isGatehouseError(preview.error, 'not_found')
              ? 'The link is not valid. Check that you opened the whole link from the email.'
              : messageOf(preview.error)}
          </Text>
          <AnchorLink to="/">Go to Gatehouse</AnchorLink>
        </Stack>
      </AuthCard>
    );

  const invitation = preview.data;
  const signedIn = me.data;
  const isInvitee = signedIn && signedIn.email === invitation.email;
  const summary = (
    <Stack gap="xs">
      <Text>
        <strong>{invitation.inviter.name}</strong> invited <strong>{invitation.email}</strong> to
        join <strong>{invitation.organization.name}</strong>.
      </Text>
      {invitation.grants.length ? (
        <div>
          <Text size="sm" fw={600}>
            You will get:
          </Text>
          <List size="sm">
            {invitation.grants.map((grant) => (
              <List.Item key={grant}>{grant}</List.Item>
            ))}
          </List>
        </div>
      ) : null}
      {invitation.offers_ownership ? (
        <Badge color="grape">Includes an ownership offer</Badge>
      ) : null}
      {invitation.message ? (
        <Alert variant="light" color="gray" title="Message">
          {invitation.message}
        </Alert>
      ) : null}
      <Text size="xs" c="dimmed">
        Valid until {formatDateTime(invitation.expires_at)}
      </Text>
    </Stack>
  );

  if (invitation.status === 'pending' && invitation.no_longer_valid)
    return (
      <AuthCard title={`Invitation to ${invitation.organization.name}`}>
        {summary}
        <Alert color="yellow" variant="light" role="status">
          This invitation can no longer be accepted: what it offers is no longer available (the
          person who sent it may have lost the right to give it). Ask for a new invitation.
        </Alert>
      </AuthCard>
    );
  if (invitation.status !== 'pending')
    return (
      <AuthCard title={`Invitation to ${invitation.organization.name}`}>
        <Alert color="yellow" variant="light" role="status">
          {closedStatus[invitation.status] ?? 'This invitation is no longer open.'}
        </Alert>
        <AnchorLink to="/">Go to Gatehouse</AnchorLink>
      </AuthCard>
    );

  return (
    <AuthCard title={`Join ${invitation.organization.name}`}>
      {summary}
      {isInvitee ? (
        <Stack gap="sm">
          <FormError error={accept.error ?? reject.error} />
          <Group grow>
            <Button onClick={() => accept.mutate()} loading={accept.isPending}>
              Accept invitation
            </Button>
            <Button variant="default" onClick={() => reject.mutate()} loading={reject.isPending}>
              Decline
            </Button>
          </Group>
        </Stack>
      ) : signedIn ? (
        <Alert color="yellow" variant="light" title="Signed in as someone else">
          You are signed in as {signedIn.email}, but this invitation is for {invitation.email}. Sign
          out, then open the link again to accept it.
        </Alert>
      ) : invitation.account_exists ? (
        <Stack gap="sm">
          <Text size="sm">Sign in as {invitation.email} to accept.</Text>
          <ButtonLink to="/sign-in" search={{ redirect: here, email: invitation.email }}>
            Sign in to accept
          </ButtonLink>
          <Button variant="default" onClick={() => reject.mutate()} loading={reject.isPending}>
            Decline
          </Button>
          <FormError error={reject.error} />
        </Stack>
      ) : (
        <InviteeSignUp
          email={invitation.email}
          pending={signUpAndAccept.isPending}
          error={signUpAndAccept.error}
          onSubmit={(input) => signUpAndAccept.mutate(input)}
        />
      )}
    </AuthCard>
  );
}

/** Sign-up through the invitation: the mailed link proves the address, so no code follows. */
function InviteeSignUp(props: {
  email: string;
  pending: boolean;
  error: unknown;
  onSubmit: (input: { password: string; first_name: string; last_name: string }) => void;
}) {
  const [first, setFirst] = useState('');
  const [last, setLast] = useState('');
  const [missing, setMissing] = useState(false);
  return (
    <Stack gap="sm">
      <Text size="sm">
        Create your account to accept. Your email address is confirmed by this invitation.
      </Text>
      <Group grow align="flex-start" wrap="wrap">
        <TextInput
          label="First name"
          autoComplete="given-name"
          required
          miw={140}
          value={first}
          onChange={(e) => setFirst(e.currentTarget.value)}
          error={missing && !first.trim() ? 'Enter your first name' : undefined}
        />
        <TextInput
          label="Last name"
          autoComplete="family-name"
          required
          miw={140}
          value={last}
          onChange={(e) => setLast(e.currentTarget.value)}
          error={missing && !last.trim() ? 'Enter your last name' : undefined}
        />
      </Group>
      <NewPasswordFields
        email={props.email}
        submitLabel="Create account and accept"
        pending={props.pending}
        error={props.error}
        errorTitle="You have not joined yet"
        onSubmit={(password) => {
          if (!first.trim() || !last.trim()) {
            setMissing(true);
            return;
          }
          props.onSubmit({ password, first_name: first.trim(), last_name: last.trim() });
        }}
      />
    </Stack>
  );
}
