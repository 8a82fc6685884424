import { type ErrorCode, GatehouseError } from '@gatehouse/sdk/browser';
import { Stack } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useNavigate, useSearch } from '@tanstack/react-router';
import { useEffect, useMemo, useState } from 'react';
import { AuthCard } from '../../components/AuthCard';
import { FormError } from '../../components/FormError';
import { AnchorLink } from '../../components/links';
import { api } from '../../lib/api';
import { safeRedirect } from '../../lib/navigation';
import { LinkProofStep } from './LinkProofStep';
import { type MfaChallenge, MfaStep } from './MfaStep';

/**
 * Where a provider sign-in comes back. The server puts the outcome in the URL fragment (never
 * sent to a server, never in a Referer): an error code, a second-factor challenge, or nothing
 * when the session cookie is already set.
 */
export function ProviderCallbackPage() {
  const search = useSearch({ strict: false }) as { redirect?: string };
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const target = safeRedirect(search.redirect);
  const outcome = useMemo(() => new URLSearchParams(window.location.hash.slice(1)), []);
  const error = outcome.get('error');
  const mfaToken = outcome.get('mfa_token');
  const linkPending = outcome.get('link_pending_token');
  const [challenge, setChallenge] = useState<MfaChallenge | null>(null);
  const providers = useQuery({
    queryKey: ['oauth-providers'],
    queryFn: () => api.auth.oauth.providers(),
    enabled: Boolean(linkPending),
  });
  const providerId = outcome.get('provider');
  const providerName =
    providers.data?.data.find((p) => p.id === providerId)?.name ?? providerId ?? 'this provider';

  useEffect(() => {
    if (error || mfaToken || linkPending) return;
    void queryClient.invalidateQueries().then(() => navigate({ to: target, replace: true }));
  }, [error, mfaToken, linkPending, navigate, queryClient, target]);

  const finish = async () => {
    await queryClient.invalidateQueries();
    await navigate({ to: target, replace: true });
  };
  const restart = () => navigate({ to: '/sign-in', search: { redirect: target } });

  if (linkPending && !challenge)
    return (
      <AuthCard title="Confirm your account">
        <LinkProofStep
          token={linkPending}
          provider={providerName}
          proof={outcome.get('proof') ?? 'password'}
          onDone={finish}
          onMfa={setChallenge}
        />
      </AuthCard>
    );
  if (mfaToken || challenge)
    return (
      <AuthCard title="Two-step verification" subtitle="Your account has a second factor.">
        <MfaStep
          challenge={
            challenge ?? {
              mfaToken: mfaToken!,
              methods: (outcome.get('methods') ?? 'totp').split(','),
            }
          }
          onDone={finish}
          onRestart={restart}
        />
      </AuthCard>
    );
  if (error)
    return (
      <AuthCard title="Sign-in not completed">
        <Stack>
          <FormError
            title="The provider sign-in did not finish"
            error={
              new GatehouseError((error ?? 'oauth_failed') as ErrorCode, {
                detail: outcome.get('error_description') ?? undefined,
              })
            }
          />
          <AnchorLink to="/sign-in">Back to sign in</AnchorLink>
        </Stack>
      </AuthCard>
    );
  return <AuthCard title="Signing you in…">{null}</AuthCard>;
}
