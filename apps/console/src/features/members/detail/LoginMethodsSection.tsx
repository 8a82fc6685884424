import type { MemberDetail } from '@gatehouse/sdk/browser';
import { Alert, Button, Card, Checkbox, Radio, Stack, Text, Title } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../../../lib/api';
import { KNOWN_LOGIN_METHODS, loginMethodLabel } from '../invite/flows';
import { useGrantable } from '../invite/grantable';
import { refusalOf } from '../invite/words';
import { invalidateMember } from './member.api';

/** The member's login type: the sign-in methods accepted from them here, or any allowed. */
export function LoginMethodsSection(props: {
  member: MemberDetail;
  orgId: string;
  mayUpdate: boolean;
}) {
  const { member, orgId } = props;
  const g = useGrantable();
  const queryClient = useQueryClient();
  const current = member.login_methods;
  const [any, setAny] = useState(current === null);
  const [chosen, setChosen] = useState<string[]>(current ?? []);
  const allowed = g.organization?.policies.allowed_login_methods ?? KNOWN_LOGIN_METHODS;
  const options = [...new Set([...allowed, ...(current ?? [])])];
  const save = useMutation({
    mutationFn: () => api.members.setLoginMethods(orgId, member.user_id, any ? null : chosen),
    onSuccess: () => invalidateMember(queryClient, orgId, member.user_id),
  });
  const words =
    current === null
      ? 'Any method the organization allows'
      : current.map(loginMethodLabel).join(', ');
  return (
    <Card withBorder padding="lg">
      <Stack gap="sm">
        <Title order={2} size="h3">
          Login type
        </Title>
        <Text size="sm">Now: {words}.</Text>
        {props.mayUpdate && (!member.is_owner || g.isOwner) ? (
          <form
            method="post"
            onSubmit={(e) => {
              e.preventDefault();
              save.mutate();
            }}
          >
            <Stack gap="xs">
              <Radio.Group
                label="Accept sign-ins"
                value={any ? 'any' : 'only'}
                onChange={(v) => setAny(v === 'any')}
              >
                <Stack gap={6} mt={6}>
                  <Radio value="any" label="With any method the organization allows" />
                  <Radio value="only" label="Only with the methods checked below" />
                </Stack>
              </Radio.Group>
              {any ? null : (
                <Checkbox.Group label="Methods" value={chosen} onChange={setChosen}>
                  <Stack gap={6} mt={6}>
                    {options.map((m) => (
                      <Checkbox key={m} value={m} label={loginMethodLabel(m)} />
                    ))}
                  </Stack>
                </Checkbox.Group>
              )}
              {save.isSuccess ? (
                <Text size="sm" c="teal.9" role="status">
                  Login type saved.
                </Text>
              ) : null}
              {save.error ? (
                <Alert color="red" variant="light" role="alert" title="Not saved">
                  {refusalOf(save.error)}
                </Alert>
              ) : null}
              <Button
                type="submit"
                w="fit-content"
                loading={save.isPending}
                disabled={!any && chosen.length === 0}
              >
                Save login type
              </Button>
            </Stack>
          </form>
        ) : null}
      </Stack>
    </Card>
  );
}
