import type { TestGithubServer } from './github-server';
import type { TestContext, TestResponse } from './harness';
import type { TestOidcProvider } from './oidc-provider';

/**
 * The browser's part of a provider sign-in: follow the provider's redirects with plain fetch,
 * carrying its cookies, until it sends the browser back to Gatehouse; Gatehouse's own routes
 * are then called in-process (inject).
 */

/** The cookies one browser holds for the provider (one host; path and expiry are ignored). */
export type CookieJar = Map<string, string>;

function remember(jar: CookieJar, res: Response) {
  for (const line of res.headers.getSetCookie()) {
    const pair = line.split(';', 1)[0]!;
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    if (value === '' || /max-age=0|expires=thu, 01 jan 1970/i.test(line)) jar.delete(name);
    else jar.set(name, value);
  }
}

/**
 * Follows redirects from `url` until one points under `stopAt` (the callback), and answers that
 * address. Throws on a page that is not a redirect (an error page at the provider).
 */
export async function browseUntil(
  url: string,
  stopAt: string,
  jar: CookieJar = new Map(),
): Promise<URL> {
  let current = new URL(url);
  for (let hop = 0; hop < 20; hop++) {
    if (current.href.startsWith(stopAt)) return current;
    const res = await fetch(current, {
      redirect: 'manual',
      headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; ') },
    });
    remember(jar, res);
    const location = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || !location)
      throw new Error(
        `the provider answered ${res.status} at ${current.href}: ${await res.text()}`,
      );
    current = new URL(location, current);
  }
  throw new Error(`too many redirects from ${url}`);
}

/** The values in a redirect's fragment (empty when it has none). */
export function fragmentOf(location: string): Record<string, string> {
  const hash = new URL(location).hash.slice(1);
  return Object.fromEntries(new URLSearchParams(hash));
}

export interface ProviderRoundTrip {
  /** the provider's authorization URL Gatehouse sent the browser to */
  authorizationUrl: URL;
  /** the path and query the provider sent the browser back to (our callback) */
  callbackPath: string;
  /** Gatehouse's answer at the callback */
  res: TestResponse;
  /** where that answer sends the browser (Location) */
  location: string;
  fragment: Record<string, string>;
}

/** PUBLIC_URL as the harness sets it: the providers must know our callback URLs up front. */
export const PUBLIC_URL = 'http://gatehouse.test';
/** An app on another origin that sign-ins may return to (OAUTH_RETURN_URLS). */
export const APP_ORIGIN = 'https://app.example.com';

export const callbackUrl = (provider: string) => `${PUBLIC_URL}/v1/auth/oauth/${provider}/callback`;

/** The environment that turns on the given stand-ins: oidc:corp, google and github. */
export function providerEnv(p: {
  corp?: TestOidcProvider;
  google?: TestOidcProvider;
  github?: TestGithubServer;
}): Record<string, string> {
  return {
    OAUTH_RETURN_URLS: APP_ORIGIN,
    ...(p.corp
      ? {
          OIDC_PROVIDERS: 'corp',
          OIDC_CORP_ISSUER: p.corp.issuer,
          OIDC_CORP_CLIENT_ID: p.corp.clientId,
          OIDC_CORP_CLIENT_SECRET: p.corp.clientSecret,
        }
      : {}),
    ...(p.google
      ? {
          GOOGLE_ISSUER: p.google.issuer,
          GOOGLE_CLIENT_ID: p.google.clientId,
          GOOGLE_CLIENT_SECRET: p.google.clientSecret,
        }
      : {}),
    ...(p.github
      ? {
          GITHUB_URL: p.github.url,
          GITHUB_API_URL: p.github.url,
          GITHUB_CLIENT_ID: p.github.clientId,
          GITHUB_CLIENT_SECRET: p.github.clientSecret,
        }
      : {}),
  };
}

/** The audit events about a user, oldest first, with their details parsed. */
export async function auditOf(ctx: TestContext, userId: string) {
  const rows = await ctx.database.db
    .selectFrom('audit_events')
    .select(['action', 'actor_id', 'changes'])
    .where('target_type', '=', 'user')
    .where('target_id', '=', userId)
    .orderBy('seq')
    .execute();
  return rows.map((r) => ({
    action: r.action,
    actor_id: r.actor_id,
    changes: r.changes ? (JSON.parse(r.changes) as Record<string, unknown>) : null,
  }));
}

/** Takes an authorization URL through the provider and back into Gatehouse's callback. */
export async function completeAtProvider(
  ctx: TestContext,
  provider: string,
  authorizationUrl: string,
  options: { cookies?: Record<string, string> } = {},
): Promise<ProviderRoundTrip> {
  const back = await browseUntil(authorizationUrl, callbackUrl(provider));
  const callbackPath = back.pathname + back.search;
  const res = await ctx.request('GET', callbackPath, { cookies: options.cookies });
  const location = String(res.headers.location ?? '');
  return {
    authorizationUrl: new URL(authorizationUrl),
    callbackPath,
    res,
    location,
    fragment: location ? fragmentOf(location) : {},
  };
}

/** The browser cookies Gatehouse set on a response (name → value). */
export function cookiesOf(res: TestResponse): Record<string, string> {
  return Object.fromEntries(res.cookies.map((c) => [c.name, c.value]));
}

/**
 * A whole sign-in: GET /start (302 to the provider), the provider, then our callback, carrying
 * the cookies /start set as the same browser would.
 */
export async function signInVia(
  ctx: TestContext,
  provider: string,
  query: { return_to?: string; mode?: 'cookie' | 'token' } = {},
): Promise<ProviderRoundTrip & { start: TestResponse }> {
  const params = new URLSearchParams(query as Record<string, string>);
  const start = await ctx.request('GET', `/v1/auth/oauth/${provider}/start?${params}`);
  if (start.status !== 302) throw new Error(`start answered ${start.status}: ${start.text}`);
  const trip = await completeAtProvider(ctx, provider, String(start.headers.location), {
    cookies: cookiesOf(start),
  });
  return { ...trip, start };
}
