import { UpdateMemberBody } from '@gatehouse/contracts';
import type { MemberDetail } from '@gatehouse/sdk/browser';
import { Alert, Button, Card, Group, Select, Stack, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../../../lib/api';
import { fieldErrorsOf } from '../../../lib/problems';
import { refusalOf } from '../invite/words';
import { invalidateMember } from './member.api';

const timeZones: string[] = (() => {
  try {
    return Intl.supportedValuesOf('timeZone');
  } catch {
    return ['UTC'];
  }
})();

/**
 * A user this organization manages alone (added directly, member of nothing else): its admins
 * edit the name, email and time zone ("Update roles, timezones, or email", seed 004).
 */
export function ManagedProfileSection({ member, orgId }: { member: MemberDetail; orgId: string }) {
  const queryClient = useQueryClient();
  const [first, setFirst] = useState(member.first_name);
  const [last, setLast] = useState(member.last_name);
  const [email, setEmail] = useState(member.email);
  const [timezone, setTimezone] = useState<string | null>(member.timezone);
  const [clientErrors, setClientErrors] = useState<Record<string, string>>({});
  const save = useMutation({
    mutationFn: (body: Record<string, unknown>) => api.members.update(orgId, member.user_id, body),
    onSuccess: () => invalidateMember(queryClient, orgId, member.user_id),
  });
  const submit = () => {
    // Only what changed: a user added by address alone has an empty last name, which is fine
    // to keep but not a value to send.
    const body: Record<string, unknown> = {};
    if (first !== member.first_name) body.first_name = first;
    if (last !== member.last_name) body.last_name = last;
    if (timezone !== member.timezone) body.timezone = timezone;
    if (email.trim().toLowerCase() !== member.email) body.email = email;
    const parsed = UpdateMemberBody.safeParse(body);
    if (!parsed.success) {
      const errors: Record<string, string> = {};
      for (const issue of parsed.error.issues) errors[String(issue.path[0])] ??= issue.message;
      setClientErrors(errors);
      return;
    }
    setClientErrors({});
    save.mutate(parsed.data);
  };
  const serverErrors = fieldErrorsOf(save.error);
  return (
    <Card withBorder padding="lg">
      <form
        method="post"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <Stack gap="sm">
          <Title order={2} size="h3">
            Profile (managed by this organization)
          </Title>
          <Text size="sm" c="dimmed">
            This user was added by the organization and belongs to no other, so you edit their
            details here.
          </Text>
          <Group grow align="flex-start" wrap="wrap">
            <TextInput
              label="First name"
              value={first}
              onChange={(e) => setFirst(e.currentTarget.value)}
              error={clientErrors.first_name ?? serverErrors.first_name}
              miw={180}
            />
            <TextInput
              label="Last name"
              value={last}
              onChange={(e) => setLast(e.currentTarget.value)}
              error={clientErrors.last_name ?? serverErrors.last_name}
              miw={180}
            />
          </Group>
          <TextInput
            label="Email"
            type="email"
            value={email}
            onChange={(e) => setEmail(e.currentTarget.value)}
            error={clientErrors.email ?? serverErrors.email}
            description="A changed address must be confirmed by its owner before it can sign in."
          />
          <Select
            label="Time zone"
            data={timeZones}
            value={timezone}
            onChange={setTimezone}
            searchable
            clearable
            placeholder="Not set"
            nothingFoundMessage="No time zone by that name"
          />
          {save.isSuccess ? (
            <Text size="sm" c="teal.9" role="status">
              Profile saved.
            </Text>
          ) : null}
          {save.error ? (
            <Alert color="red" variant="light" role="alert" title="Not saved">
              {refusalOf(save.error)}
            </Alert>
          ) : null}
          <Button type="submit" w="fit-content" loading={save.isPending}>
            Save profile
          </Button>
        </Stack>
      </form>
    </Card>
  );
}
