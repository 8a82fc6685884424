import { Button, Card, Group, Stack, Text, Title } from '@mantine/core';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { FormError } from '../../components/FormError';
import { useStepUp } from '../../components/StepUp';
import { api } from '../../lib/api';
import { formatDateTime } from '../../lib/dates';

/**
 * Sign-in methods: the providers linked to this account (unlink), and the configured ones to link.
 * A link comes back to this page with a link token in the fragment, which this user redeems.
 */
export function IdentitiesSection() {
  const queryClient = useQueryClient();
  const stepUp = useStepUp();
  const identities = useQuery({
    queryKey: ['identities'],
    queryFn: () => api.me.identities.list(),
  });
  const providers = useQuery({
    queryKey: ['oauth-providers'],
    queryFn: () => api.auth.oauth.providers(),
  });
  const done = () => queryClient.invalidateQueries({ queryKey: ['identities'] });
  const unlink = useMutation({
    mutationFn: (id: string) => api.me.identities.unlink(id),
    onSuccess: done,
  });
  const link = useMutation({
    mutationFn: (provider: string) => stepUp(() => api.me.identities.link(provider, '/settings')),
    onSuccess: (answer) => {
      window.location.assign(answer.authorization_url);
    },
  });
  const confirm = useMutation({
    mutationFn: (token: string) => api.me.identities.confirm(token),
    onSuccess: done,
  });
  useEffect(() => {
    const fragment = new URLSearchParams(window.location.hash.slice(1));
    const token = fragment.get('link_token');
    if (token) {
      history.replaceState(null, '', window.location.pathname);
      confirm.mutate(token);
    }
  }, [confirm.mutate]);

  const linked = identities.data?.data ?? [];
  const available = (providers.data?.data ?? []).filter(
    (p) => !linked.some((i) => i.provider === p.id),
  );
  if (!providers.data?.data.length && !linked.length) return null;
  return (
    <Card withBorder padding="lg">
      <Stack gap="sm">
        <Title order={2} size="h3">
          Sign-in methods
        </Title>
        {linked.map((identity) => (
          <Group key={identity.id} justify="space-between" wrap="wrap">
            <div>
              <Text fw={500}>
                {providers.data?.data.find((p) => p.id === identity.provider)?.name ??
                  identity.provider}
              </Text>
              <Text size="xs" c="dimmed">
                {identity.email ?? ''} · linked {formatDateTime(identity.created_at)}
              </Text>
            </div>
            <Button
              variant="subtle"
              color="red"
              size="xs"
              onClick={() => unlink.mutate(identity.id)}
            >
              Unlink
            </Button>
          </Group>
        ))}
        {available.map((p) => (
          <Button
            key={p.id}
            variant="default"
            w="fit-content"
            onClick={() => link.mutate(p.id)}
            loading={link.isPending}
          >
            Link {p.name}
          </Button>
        ))}
        {confirm.isSuccess ? (
          <Text size="sm" c="teal.8" role="status">
            The sign-in method was linked.
          </Text>
        ) : null}
        <FormError error={unlink.error ?? link.error ?? confirm.error} />
      </Stack>
    </Card>
  );
}
