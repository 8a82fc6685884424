import { createSign, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real OpenID Connect provider (panva's `oidc-provider`, the certified implementation) on
 * 127.0.0.1 and a free port, for the sign-in tests: discovery, authorization with PKCE required,
 * the token endpoint, ID tokens signed with a key made here, and userinfo. Its login and consent
 * pages are replaced by one route that completes at once for the account the test chose.
 */

/** A person at the provider: the claims `findAccount` answers (sub is the map key). */
export interface OidcAccount {
  email?: string;
  email_verified?: boolean;
  given_name?: string;
  family_name?: string;
}

export interface StartOidcProviderOptions {
  clientId: string;
  clientSecret: string;
  /** our callback URLs this client may be sent back to */
  redirectUris: string[];
  /**
   * true: the email and profile claims ride in the ID token (as Google does); false (the
   * library's conformant default): the ID token carries only sub and the claims come from
   * userinfo.
   */
  claimsInIdToken?: boolean;
}

export interface TestOidcProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** the people the provider knows, by sub; the test adds and changes them */
  accounts: Map<string, OidcAccount>;
  /** the account every following interaction signs in (until changed) */
  signInAs(sub: string): void;
  /** every following interaction answers access_denied, as when the person presses "cancel" */
  denyNext(): void;
  /**
   * A hostile token endpoint: from now on (until called with false) its ID tokens carry the
   * given claims over the real ones and are signed with a key that is not in the provider's
   * JWKS (same kid and alg), as a token endpoint that the issuer does not control would answer.
   */
  forgeIdTokens(claims: Record<string, unknown> | false): void;
  close(): Promise<void>;
}

/**
 * oidc-provider ships no type declarations: the slice of its API used here, typed by hand
 * (`oidc-provider` v9, lib/provider.js).
 */
interface OidcProviderApi {
  callback(): (req: http.IncomingMessage, res: http.ServerResponse) => void;
  interactionDetails(
    req: http.IncomingMessage,
    res: http.ServerResponse,
  ): Promise<{ uid: string; params: Record<string, unknown>; prompt: { name: string } }>;
  interactionFinished(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    result: Record<string, unknown>,
    options?: { mergeWithLastSubmission?: boolean },
  ): Promise<void>;
  Grant: new (input: {
    accountId: string;
    clientId: string;
  }) => { addOIDCScope(scope: string): void; save(): Promise<string> };
  on(event: string, listener: (...args: unknown[]) => void): void;
}
type OidcProviderClass = new (issuer: string, configuration: object) => OidcProviderApi;

/**
 * Keeps the provider's state (sessions, codes, grants) in memory for the life of one test file;
 * the library's own stand-in does the same but warns on every start.
 */
class MemoryAdapter {
  private readonly store: Map<string, Record<string, unknown>>;

  /** `stores`: one provider's models by name (Session, AuthorizationCode, ...) */
  constructor(stores: Map<string, Map<string, Record<string, unknown>>>, name: string) {
    if (!stores.has(name)) stores.set(name, new Map());
    this.store = stores.get(name)!;
  }

  async upsert(id: string, payload: Record<string, unknown>) {
    this.store.set(id, payload);
  }
  async find(id: string) {
    return this.store.get(id);
  }
  async findByUid(uid: string) {
    return [...this.store.values()].find((p) => p.uid === uid);
  }
  async findByUserCode(userCode: string) {
    return [...this.store.values()].find((p) => p.userCode === userCode);
  }
  async consume(id: string) {
    const payload = this.store.get(id);
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id: string) {
    this.store.delete(id);
  }
  async revokeByGrantId(grantId: string) {
    for (const [id, p] of this.store) if (p.grantId === grantId) this.store.delete(id);
  }
}

export async function startOidcProvider(
  options: StartOidcProviderOptions,
): Promise<TestOidcProvider> {
  // A bare specifier in a variable: oidc-provider has no types, and the interface above is
  // what this file relies on.
  const specifier = 'oidc-provider';
  const { default: Provider } = (await import(specifier)) as { default: OidcProviderClass };

  const accounts = new Map<string, OidcAccount>();
  let next: { kind: 'account'; sub: string } | { kind: 'deny' } | null = null;
  let forged: Record<string, unknown> | false = false;
  const rogueKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  let handler: (req: http.IncomingMessage, res: http.ServerResponse) => void = (_req, res) => {
    res.writeHead(503).end();
  };
  const server = http.createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const issuer = `http://127.0.0.1:${port}`;

  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = {
    ...privateKey.export({ format: 'jwk' }),
    kid: 'test-key',
    use: 'sig',
    alg: 'RS256',
  };

  const stores = new Map<string, Map<string, Record<string, unknown>>>();
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: options.clientId,
        client_secret: options.clientSecret,
        redirect_uris: options.redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_post',
      },
    ],
    adapter: (name: string) => new MemoryAdapter(stores, name),
    jwks: { keys: [jwk] },
    // Lifetimes in seconds; set so the library does not warn that its defaults are in use.
    ttl: {
      AccessToken: 600,
      AuthorizationCode: 60,
      Grant: 600,
      IdToken: 600,
      Interaction: 600,
      Session: 600,
    },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    pkce: { required: () => true },
    conformIdTokenClaims: !options.claimsInIdToken,
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['given_name', 'family_name'],
    },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/i/${interaction.uid}` },
    async findAccount(_ctx: unknown, sub: string) {
      const account = accounts.get(sub);
      if (!account) return undefined;
      return { accountId: sub, claims: async () => ({ sub, ...account }) };
    },
  });
  const providerHandler = provider.callback();

  /** The login and consent pages, done without a person: the test already chose the outcome. */
  async function interact(req: http.IncomingMessage, res: http.ServerResponse) {
    const details = await provider.interactionDetails(req, res);
    const outcome = next;
    if (!outcome || outcome.kind === 'deny') {
      await provider.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: 'The person declined' },
        { mergeWithLastSubmission: false },
      );
      return;
    }
    const grant = new provider.Grant({
      accountId: outcome.sub,
      clientId: String(details.params.client_id),
    });
    grant.addOIDCScope(String(details.params.scope));
    const grantId = await grant.save();
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId: outcome.sub }, consent: { grantId } },
      { mergeWithLastSubmission: false },
    );
  }

  handler = (req, res) => {
    if (forged && req.method === 'POST' && req.url?.startsWith('/token')) {
      reSignIdToken(res, forged, rogueKey);
    }
    if (req.url?.startsWith('/i/')) {
      interact(req, res).catch((error: Error) => {
        res.writeHead(500, { 'content-type': 'text/plain' }).end(error.message);
      });
      return;
    }
    providerHandler(req, res);
  };

  return {
    issuer,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    accounts,
    signInAs(sub) {
      next = { kind: 'account', sub };
    },
    denyNext() {
      next = { kind: 'deny' };
    },
    forgeIdTokens(claims) {
      forged = claims;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Makes the token endpoint's answer carry an ID token re-signed with `key` (RS256, kid
 * `test-key` as the real one), its payload merged with `claims`: the body the library writes is
 * caught at `res.end`, rewritten, and sent with a corrected length.
 */
function reSignIdToken(res: http.ServerResponse, claims: Record<string, unknown>, key: KeyObject) {
  const end = res.end.bind(res);
  const chunks: Buffer[] = [];
  res.write = ((chunk: unknown) => {
    chunks.push(Buffer.from(chunk as Buffer));
    return true;
  }) as typeof res.write;
  res.end = ((chunk?: unknown) => {
    if (chunk && typeof chunk !== 'function') chunks.push(Buffer.from(chunk as Buffer));
    let body = Buffer.concat(chunks).toString('utf8');
    try {
      const json = JSON.parse(body) as { id_token?: string };
      if (json.id_token) {
        const [header, payload] = json.id_token.split('.');
        const merged = {
          ...(JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as object),
          ...claims,
        };
        const input = `${header}.${Buffer.from(JSON.stringify(merged)).toString('base64url')}`;
        const signature = createSign('RSA-SHA256').update(input).sign(key).toString('base64url');
        json.id_token = `${input}.${signature}`;
        body = JSON.stringify(json);
      }
    } catch {
      // not JSON: an error answer, passed on as it is
    }
    if (!res.headersSent) res.setHeader('content-length', Buffer.byteLength(body));
    return end(body);
  }) as typeof res.end;
}
