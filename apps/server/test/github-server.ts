import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for GitHub's OAuth app endpoints and the two REST calls sign-in needs, on
 * 127.0.0.1 and a free port: GET /login/oauth/authorize (which here signs in the user the test
 * chose, without a page), POST /login/oauth/access_token (client secret, single-use code and
 * PKCE checked, answering errors with 200 and an `error` field as GitHub does), and GET /user
 * and GET /user/emails with the Bearer token it issued.
 */

export interface GithubEmail {
  email: string;
  primary: boolean;
  verified: boolean;
}

export interface GithubUser {
  id: number;
  login: string;
  name: string | null;
  emails: GithubEmail[];
}

export interface StartGithubServerOptions {
  clientId: string;
  clientSecret: string;
  /** the one callback URL registered for the OAuth app */
  redirectUri: string;
}

/** One code exchange the server accepted. */
export interface GithubTokenExchange {
  userId: number;
  /** how the client authenticated */
  clientAuth: 'basic' | 'post';
}

export interface TestGithubServer {
  /** GITHUB_URL and GITHUB_API_URL (the same server answers both) */
  url: string;
  clientId: string;
  clientSecret: string;
  users: Map<number, GithubUser>;
  /** the user every following authorization signs in (until changed) */
  signInAs(id: number): void;
  /** every following authorization answers error=access_denied */
  denyNext(): void;
  /** the status GET /user/emails answers from now on (default 200) */
  failEmailsWith(status: number): void;
  exchanges: GithubTokenExchange[];
  close(): Promise<void>;
}

const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startGithubServer(
  options: StartGithubServerOptions,
): Promise<TestGithubServer> {
  const users = new Map<number, GithubUser>();
  const exchanges: GithubTokenExchange[] = [];
  const codes = new Map<
    string,
    { userId: number; challenge: string; redirectUri: string; used: boolean }
  >();
  const tokens = new Map<string, number>();
  let next: { kind: 'user'; id: number } | { kind: 'deny' } | null = null;
  let emailsStatus = 200;

  const send = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  };

  function authorize(url: URL, res: http.ServerResponse) {
    const q = url.searchParams;
    const redirectUri = q.get('redirect_uri');
    const state = q.get('state');
    // GitHub shows an error page (no redirect) for a wrong client or callback.
    if (q.get('client_id') !== options.clientId) return send(res, 404, { error: 'unknown client' });
    if (redirectUri !== options.redirectUri)
      return send(res, 400, { error: 'redirect_uri_mismatch' });
    const back = new URL(redirectUri);
    const fail = (error: string) => {
      back.searchParams.set('error', error);
      if (state) back.searchParams.set('state', state);
      res.writeHead(302, { location: back.href }).end();
    };
    if (!state) return fail('invalid_request');
    const challenge = q.get('code_challenge');
    if (!challenge || q.get('code_challenge_method') !== 'S256') return fail('invalid_request');
    if (!next || next.kind === 'deny') return fail('access_denied');
    const code = randomBytes(10).toString('hex');
    codes.set(code, { userId: next.id, challenge, redirectUri, used: false });
    back.searchParams.set('code', code);
    back.searchParams.set('state', state);
    res.writeHead(302, { location: back.href }).end();
  }

  async function accessToken(req: http.IncomingMessage, res: http.ServerResponse) {
    const form = new URLSearchParams(await readBody(req));
    const json = String(req.headers.accept ?? '').includes('application/json');
    // GitHub answers 200 even for errors, with an `error` field.
    const answer = (body: Record<string, string>) => {
      if (json) return send(res, 200, body);
      res.writeHead(200, { 'content-type': 'application/x-www-form-urlencoded' });
      res.end(new URLSearchParams(body).toString());
    };
    let clientId = form.get('client_id');
    let clientSecret = form.get('client_secret');
    let clientAuth: GithubTokenExchange['clientAuth'] = 'post';
    const basic = /^Basic (.+)$/i.exec(String(req.headers.authorization ?? ''));
    if (basic) {
      const [id, secret] = Buffer.from(basic[1]!, 'base64').toString('utf8').split(':');
      clientId = decodeURIComponent(id ?? '');
      clientSecret = decodeURIComponent(secret ?? '');
      clientAuth = 'basic';
    }
    if (clientId !== options.clientId || clientSecret !== options.clientSecret)
      return answer({ error: 'incorrect_client_credentials' });
    const grant = codes.get(form.get('code') ?? '');
    if (!grant || grant.used) return answer({ error: 'bad_verification_code' });
    grant.used = true;
    const redirectUri = form.get('redirect_uri');
    if (redirectUri !== null && redirectUri !== grant.redirectUri)
      return answer({ error: 'redirect_uri_mismatch' });
    const verifier = form.get('code_verifier');
    if (!verifier || s256(verifier) !== grant.challenge)
      return answer({ error: 'bad_verification_code' });
    const token = `gho_${randomBytes(16).toString('hex')}`;
    tokens.set(token, grant.userId);
    exchanges.push({ userId: grant.userId, clientAuth });
    answer({ access_token: token, token_type: 'bearer', scope: 'read:user,user:email' });
  }

  function api(path: string, req: http.IncomingMessage, res: http.ServerResponse) {
    const bearer = /^(?:Bearer|token) (.+)$/i.exec(String(req.headers.authorization ?? ''));
    const user = bearer ? users.get(tokens.get(bearer[1]!) ?? -1) : undefined;
    if (!user) return send(res, 401, { message: 'Bad credentials' });
    if (path === '/user')
      return send(res, 200, { id: user.id, login: user.login, name: user.name });
    if (emailsStatus !== 200) return send(res, emailsStatus, { message: 'Server Error' });
    return send(
      res,
      200,
      user.emails.map((e) => ({ ...e, visibility: e.primary ? 'private' : null })),
    );
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const route = `${req.method} ${url.pathname}`;
    if (route === 'GET /login/oauth/authorize') return authorize(url, res);
    if (route === 'POST /login/oauth/access_token')
      return void accessToken(req, res).catch((error: Error) =>
        send(res, 500, { message: error.message }),
      );
    if (route === 'GET /user' || route === 'GET /user/emails') return api(url.pathname, req, res);
    send(res, 404, { message: 'Not Found' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    users,
    exchanges,
    signInAs(id) {
      next = { kind: 'user', id };
    },
    denyNext() {
      next = { kind: 'deny' };
    },
    failEmailsWith(status) {
      emailsStatus = status;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
