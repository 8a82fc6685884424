/**
 * Users made through the public API, as a client would: register → read the code the server
 * queued (bench-only /bench/code, from the outbox table) → verify-email, which signs in.
 */
export const BENCH_PASSWORD = 'Bench-Passw0rd!-seed';

export interface SeededUser {
  email: string;
  password: string;
  accessToken: string;
}

async function call(baseUrl: string, method: string, path: string, body?: unknown) {
  const res = await fetch(new URL(path, baseUrl), {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

const runTag = Date.now().toString(36);

export const signUpBody = (n: number) =>
  JSON.stringify({
    email: `signup-${runTag}-${n}@example.com`,
    password: BENCH_PASSWORD,
    first_name: 'Sign',
    last_name: 'Up',
  });

export async function seedUsers(baseUrl: string, count: number): Promise<SeededUser[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const email = `bench-${runTag}-${i}@example.com`;
      await call(baseUrl, 'POST', '/v1/auth/register', {
        email,
        password: BENCH_PASSWORD,
        first_name: 'Bench',
        last_name: `User ${i}`,
      });
      const { code } = await call(baseUrl, 'GET', `/bench/code?email=${encodeURIComponent(email)}`);
      const session = await call(baseUrl, 'POST', '/v1/auth/verify-email', { email, code });
      const accessToken = String(session.access_token);
      // One request through the real route before measuring: the token is good and /v1/me answers.
      const me = await fetch(new URL('/v1/me', baseUrl), {
        headers: { authorization: `Bearer ${accessToken}` },
      });
      if (me.status !== 200) throw new Error(`GET /v1/me with a fresh token: ${me.status}`);
      return { email, password: BENCH_PASSWORD, accessToken };
    }),
  );
}
