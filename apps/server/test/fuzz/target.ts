/**
 * What the fuzzer talks to: the in-process app (app.inject, for the slice in `npm test`) or a
 * spawned server on 127.0.0.1 (`npm run fuzz`). Both send raw requests and answer raw answers;
 * both can read the latest code mailed to an address and make a platform administrator, which a
 * world needs and the HTTP API (rightly) does not offer.
 */
export interface FuzzRequest {
  method: string;
  /** path and query, already encoded */
  url: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

export interface FuzzAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** wall time from sending to the last byte of the answer */
  ms: number;
}

export interface Target {
  /** e.g. "sqlite in-process", "postgres spawned" */
  name: string;
  send(request: FuzzRequest): Promise<FuzzAnswer>;
  /** the body of the latest mail queued for an address (its code, its invitation link) */
  lastMail(email: string): Promise<string>;
  /** creates a platform administrator (as `gatehouse create-admin` does) */
  makeAdmin(input: { email: string; password: string }): Promise<void>;
  /** the server's memory in bytes: RSS of a spawned server, heap (after GC) of the in-process app */
  memory(): Promise<number>;
  close(): Promise<void>;
}

/** A small JSON request helper over a target, for seeding the world. */
export async function call(
  target: Target,
  method: string,
  url: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
  // biome-ignore lint/suspicious/noExplicitAny: seeding reads arbitrary JSON answers by path
): Promise<FuzzAnswer & { json: any }> {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const answer = await target.send({ method, url, headers, body });
  let json: unknown = null;
  try {
    json = answer.text ? JSON.parse(answer.text) : null;
  } catch {
    json = null;
  }
  return { ...answer, json };
}
