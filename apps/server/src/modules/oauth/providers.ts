import { Email } from '@gatehouse/contracts';
import * as client from 'openid-client';
import type { OAuthProviderConfig } from '../../config';
import { AppError } from '../../http/errors';

/** What Gatehouse needs to know about a person from any provider. */
export interface ProviderProfile {
  /** the provider's stable id of the person */
  subject: string;
  email: string | null;
  /** whether the provider vouches that the person controls `email` */
  emailVerified: boolean;
  firstName: string | null;
  lastName: string | null;
}

/**
 * A provider's email passes the same validation as a registration's (the contracts' `Email`):
 * `a@x.com, b@evil`, `Name <b@evil>`, a CR/LF or a string without `@` would otherwise become a
 * user's address, and every security mail would go to whatever it smuggles (issue 10 #10).
 * Absent is null; present and not an address is refused, never quietly dropped.
 */
export function providerEmail(raw: unknown): string | null {
  if (raw === undefined || raw === null) return null;
  const parsed = Email.safeParse(raw);
  if (!parsed.success)
    throw new AppError('oauth_email_invalid', 'The provider sent an email that is not an address');
  return parsed.data;
}

/** A provider's name claim, kept only if it would pass as a registration's name. */
function providerName(raw: unknown): string | null {
  if (typeof raw !== 'string') return null;
  const name = raw.trim();
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused: a name is put in mail text
  if (name.length === 0 || name.length > 100 || /[\u0000-\u001f\u007f]/.test(name)) return null;
  return name;
}

const isLoopback = (url: URL) =>
  url.hostname === '127.0.0.1' || url.hostname === 'localhost' || url.hostname === '[::1]';

/**
 * One configured provider: its openid-client Configuration (discovered once, retried after a
 * failure), the authorization URL it builds and the profile it reads after the code exchange.
 * Google and generic providers speak OpenID Connect (ID token with nonce); GitHub speaks plain
 * OAuth 2 (PKCE and state) and its REST API tells who the user is and which emails it verified.
 */
export class Provider {
  private configuration: Promise<client.Configuration> | null = null;

  constructor(
    readonly settings: OAuthProviderConfig,
    readonly callbackUrl: string,
  ) {}

  get id() {
    return this.settings.id;
  }

  /** The amr entry of a session opened through this provider. */
  get amr() {
    return this.settings.id.startsWith('oidc:') ? this.settings.id : `oauth:${this.settings.id}`;
  }

  private async load(): Promise<client.Configuration> {
    const s = this.settings;
    if (s.kind === 'github') {
      const web = new URL(s.webUrl!);
      const config = new client.Configuration(
        {
          issuer: s.webUrl!,
          authorization_endpoint: `${s.webUrl}/login/oauth/authorize`,
          token_endpoint: `${s.webUrl}/login/oauth/access_token`,
        },
        s.clientId,
        s.clientSecret,
      );
      // Plain http only on loopback, for a local stand-in (tests, development).
      if (web.protocol === 'http:' && isLoopback(web)) client.allowInsecureRequests(config);
      return config;
    }
    const issuer = new URL(s.issuer!);
    const insecure = issuer.protocol === 'http:' && isLoopback(issuer);
    const config = await client.discovery(
      issuer,
      s.clientId,
      s.clientSecret,
      undefined,
      insecure ? { execute: [client.allowInsecureRequests] } : undefined,
    );
    // openid-client trusts an ID token from the token endpoint on the strength of TLS alone
    // (OIDC Core 3.1.3.7 allows it); we check its signature against the issuer's JWKS as
    // well, so a token endpoint (or anything between us and it) that answers with claims the
    // issuer never signed is refused (issue 10 #11).
    client.enableNonRepudiationChecks(config);
    return config;
  }

  async config(): Promise<client.Configuration> {
    this.configuration ??= this.load().catch((error: Error) => {
      this.configuration = null; // try discovery again on the next sign-in
      throw new AppError(
        'service_unavailable',
        `The sign-in provider ${this.settings.displayName} could not be reached (${error.message})`,
      );
    });
    return this.configuration;
  }

  async authorizationUrl(input: { state: string; nonce: string; codeVerifier: string }) {
    const config = await this.config();
    const params: Record<string, string> = {
      redirect_uri: this.callbackUrl,
      scope: this.settings.scopes,
      state: input.state,
      code_challenge: await client.calculatePKCECodeChallenge(input.codeVerifier),
      code_challenge_method: 'S256',
    };
    if (this.settings.kind === 'oidc') params.nonce = input.nonce;
    return client.buildAuthorizationUrl(config, params).href;
  }

  /** Exchanges the code (PKCE, state and, for OIDC, nonce checked) and reads the person. */
  async complete(
    currentUrl: URL,
    checks: { state: string; nonce: string; codeVerifier: string },
  ): Promise<ProviderProfile> {
    const config = await this.config();
    const oidc = this.settings.kind === 'oidc';
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      tokens = await client.authorizationCodeGrant(
        config,
        currentUrl,
        {
          pkceCodeVerifier: checks.codeVerifier,
          expectedState: checks.state,
          expectedNonce: oidc ? checks.nonce : undefined,
          idTokenExpected: oidc,
        },
        { redirect_uri: this.callbackUrl },
      );
    } catch (error) {
      throw new AppError('oauth_failed', `The code exchange failed: ${(error as Error).message}`);
    }
    return oidc
      ? this.oidcProfile(config, tokens)
      : this.githubProfile(config, tokens.access_token);
  }

  private async oidcProfile(
    config: client.Configuration,
    tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>,
  ): Promise<ProviderProfile> {
    const claims = tokens.claims();
    if (!claims) throw new AppError('oauth_failed', 'The provider sent no ID token');
    let info: Record<string, unknown> = claims;
    // Some providers put the email only in userinfo.
    if (claims.email === undefined && config.serverMetadata().userinfo_endpoint) {
      try {
        info = {
          ...(await client.fetchUserInfo(config, tokens.access_token, claims.sub)),
          ...claims,
        };
      } catch (error) {
        throw new AppError(
          'oauth_failed',
          `The provider's userinfo failed: ${(error as Error).message}`,
        );
      }
    }
    const email = providerEmail(info.email);
    return {
      subject: claims.sub,
      email,
      emailVerified: email !== null && info.email_verified === true,
      firstName: providerName(info.given_name),
      lastName: providerName(info.family_name),
    };
  }

  private async githubProfile(
    config: client.Configuration,
    accessToken: string,
  ): Promise<ProviderProfile> {
    const api = this.settings.apiUrl!;
    const get = async (path: string) => {
      const res = await client.fetchProtectedResource(
        config,
        accessToken,
        new URL(`${api}${path}`),
        'GET',
        undefined,
        new Headers({ accept: 'application/vnd.github+json' }),
      );
      if (!res.ok) throw new AppError('oauth_failed', `GitHub answered ${res.status} for ${path}`);
      return res.json() as Promise<unknown>;
    };
    const user = (await get('/user')) as { id?: number; name?: string | null };
    if (typeof user.id !== 'number') throw new AppError('oauth_failed', 'GitHub sent no user id');
    const emails = (await get('/user/emails')) as {
      email: string;
      primary: boolean;
      verified: boolean;
    }[];
    // Only the primary address, and only if GitHub verified it: a secondary unverified address
    // is anyone's claim.
    const primary = Array.isArray(emails) ? emails.find((e) => e.primary) : undefined;
    const [first, ...rest] = (typeof user.name === 'string' ? user.name : '').trim().split(/\s+/);
    return {
      subject: String(user.id),
      email: primary ? providerEmail(primary.email) : null,
      emailVerified: primary?.verified === true,
      firstName: providerName(first),
      lastName: providerName(rest.join(' ')),
    };
  }
}
