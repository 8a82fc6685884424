import { UpdateMeBody } from '@gatehouse/contracts';
import type { UserProfile } from '@gatehouse/sdk/browser';
import {
  Alert,
  Badge,
  Button,
  Card,
  Group,
  Select,
  Stack,
  Text,
  TextInput,
  Title,
} from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { FormError } from '../../components/FormError';
import { api } from '../../lib/api';
import { setUserTimeZone } from '../../lib/dates';
import { useCurrentMembership } from '../../lib/membership';
import { fieldErrorsOf } from '../../lib/problems';
import { COUNTRIES, joinE164, splitE164 } from './countries';

const timeZones: string[] = (() => {
  try {
    return Intl.supportedValuesOf('timeZone');
  } catch {
    return ['UTC'];
  }
})();

/**
 * Profile details (seed 003, Personal Settings): first and last name, mobile (used for two-step
 * verification), email view-only, the role(s) in the current organization, time zone; one Save.
 */
export function ProfileSection({ me }: { me: UserProfile }) {
  const queryClient = useQueryClient();
  const initialPhone = splitE164(me.mobile);
  const [first, setFirst] = useState(me.first_name);
  const [last, setLast] = useState(me.last_name);
  const [country, setCountry] = useState(initialPhone.country);
  const [national, setNational] = useState(initialPhone.national);
  const [timezone, setTimezone] = useState<string | null>(me.timezone);
  const [clientErrors, setClientErrors] = useState<Record<string, string>>({});
  const { organization: current, membership: myMembership } = useCurrentMembership();
  const membership = { data: myMembership };

  const save = useMutation({
    mutationFn: (body: Record<string, unknown>) => api.me.update(body),
    onSuccess: async (profile) => {
      // Dates everywhere follow the zone just chosen: re-render what shows them.
      setUserTimeZone(profile.timezone);
      queryClient.setQueryData(['me'], profile);
      await queryClient.invalidateQueries({ predicate: (q) => q.queryKey[0] !== 'me' });
    },
  });
  const submit = () => {
    const body = {
      first_name: first,
      last_name: last,
      mobile: joinE164(country, national),
      timezone,
    };
    const parsed = UpdateMeBody.safeParse(body);
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
  const countryOptions = useMemo(
    () => [
      ...COUNTRIES.map((c) => ({ value: c.code, label: `${c.name} (+${c.dial})` })),
      { value: 'OTHER', label: 'Other (type +…)' },
    ],
    [],
  );

  return (
    <Card withBorder padding="lg">
      <form
        method="post"
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <Stack gap="sm">
          <Title order={2} size="h3">
            Profile details
          </Title>
          <Group grow align="flex-start" wrap="wrap">
            <TextInput
              label="First name"
              autoComplete="given-name"
              value={first}
              onChange={(e) => setFirst(e.currentTarget.value)}
              error={clientErrors.first_name ?? serverErrors.first_name}
              miw={180}
            />
            <TextInput
              label="Last name"
              autoComplete="family-name"
              value={last}
              onChange={(e) => setLast(e.currentTarget.value)}
              error={clientErrors.last_name ?? serverErrors.last_name}
              miw={180}
            />
          </Group>
          <TextInput
            label="Email"
            value={me.email}
            readOnly
            description="Your email is how you sign in; it cannot be changed here."
          />
          <Group grow align="flex-start" wrap="wrap">
            <Select
              label="Country code"
              data={countryOptions}
              value={country}
              onChange={(v) => setCountry(v ?? 'US')}
              searchable
              allowDeselect={false}
              miw={180}
            />
            <TextInput
              label="Mobile number"
              type="tel"
              autoComplete="tel-national"
              value={national}
              onChange={(e) => setNational(e.currentTarget.value)}
              description="Used only for two-step verification: sign-in codes are texted here."
              error={clientErrors.mobile ?? serverErrors.mobile}
              miw={180}
            />
          </Group>
          <Select
            label="Time zone"
            description="Dates and times in the console and in our emails are shown in this zone."
            data={timeZones}
            value={timezone}
            onChange={setTimezone}
            searchable
            clearable
            placeholder="Your browser's time zone"
            nothingFoundMessage="No time zone by that name"
          />
          <div>
            <Text size="sm" fw={500}>
              Your role
            </Text>
            {membership.data ? (
              <Group gap="xs" mt={4}>
                {membership.data.roles.map((r) => (
                  <Badge key={r.key} variant="light">
                    {r.name}
                  </Badge>
                ))}
                <Text size="sm" c="dimmed">
                  {membership.data.roles.length ? '' : 'No role '}in{' '}
                  {membership.data.organization.name}. Role changes are made by an admin.
                </Text>
              </Group>
            ) : (
              <Text size="sm" c="dimmed">
                {current ? 'Loading…' : 'You are not in an organization right now.'}
              </Text>
            )}
          </div>
          {save.isSuccess ? (
            <Alert color="teal" variant="light" role="status">
              Your profile was saved.
            </Alert>
          ) : null}
          <FormError error={save.error} title="Your profile was not saved" />
          <Button type="submit" loading={save.isPending} w="fit-content">
            Save
          </Button>
        </Stack>
      </form>
    </Card>
  );
}

export interface MyAccess {
  organization: { id: string; name: string };
  roles: string[];
  grants: {
    role: string | null;
    permissions: string[] | null;
    scope: string;
    scope_name: string;
  }[];
  is_owner: boolean;
}
