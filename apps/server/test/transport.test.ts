import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestContext, type TestContext } from './harness';
import { type RawAnswer, rawExchange } from './raw-http';

/**
 * The HTTP transport of a real server on 127.0.0.1, spoken to over bare sockets: what a client
 * receives for requests the HTTP parser refuses, for slow and silent clients, and for the
 * framework-level errors. Every error is problem+json with a stable code (issue 10 #16, #17).
 * Small timeouts are set here so that slow clients are cut off within the test's patience.
 */

let ctx: TestContext;
let port: number;
beforeAll(async () => {
  ctx = await createTestContext({
    env: {
      HEADERS_TIMEOUT_MS: '600',
      REQUEST_TIMEOUT_MS: '1200',
      KEEP_ALIVE_TIMEOUT_MS: '600',
      SOCKET_IDLE_TIMEOUT_MS: '3000',
    },
  });
  await ctx.gatehouse.app.listen({ port: 0, host: '127.0.0.1' });
  port = (ctx.gatehouse.app.server.address() as AddressInfo).port;
});
afterAll(async () => {
  await ctx?.close();
});

function expectRawProblem(res: RawAnswer, status: number, code: string) {
  const what = `${res.raw.slice(0, 300)}`;
  expect(res.status, what).toBe(status);
  expect(res.headers['content-type'], what).toMatch(/^application\/problem\+json/);
  expect(res.body?.code, what).toBe(code);
  expect(res.body?.status, what).toBe(status);
  // The declared length is the body's length: a client can read the answer and stop.
  expect(Number(res.headers['content-length']), what).toBe(Buffer.byteLength(res.text));
}

/** The answer to a raw request the server must refuse and then hang up on. */
async function refused(request: string | Buffer): Promise<RawAnswer> {
  const res = await rawExchange(port, [request]);
  expect(res.headers.connection, res.raw).toBe('close');
  expect(res.closed, 'the server closes the connection').toBe(true);
  return res;
}

describe('requests the HTTP parser refuses', () => {
  // @see issue 10 #17
  it.each([
    ['a NUL in the path', 'GET /he\0alth HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['a NUL in a header', 'GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n'],
    [
      'a bad chunk size',
      'POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nabc\r\n0\r\n\r\n',
    ],
    [
      'two Content-Lengths',
      'POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}',
    ],
    [
      'Content-Length with Transfer-Encoding',
      'POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    ],
    ['lines ending in LF only', 'GET /health HTTP/1.1\nHost: x\n\n'],
    ['a bad HTTP version', 'GET /health HTTP/9.9\r\nHost: x\r\n\r\n'],
    ['a protocol that is not HTTP', 'GET /health FOO/1.1\r\nHost: x\r\n\r\n'],
    ['an unknown method', 'FOO /health HTTP/1.1\r\nHost: x\r\n\r\n'],
    [
      'a non-numeric Content-Length',
      'POST /health HTTP/1.1\r\nHost: x\r\nContent-Length: ab\r\n\r\n',
    ],
    ['a space in a header name', 'GET /health HTTP/1.1\r\nHost: x\r\nX A: b\r\n\r\n'],
    ['an HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'],
  ])(
    '%s: 400 malformed_request problem+json, then the connection is closed',
    async (_what, request) => {
      expectRawProblem(await refused(request), 400, 'malformed_request');
    },
  );

  // @see issue 10 #17
  it('a path of bytes that are not UTF-8: 400 malformed_request problem+json', async () => {
    const request = Buffer.concat([
      Buffer.from('GET /v1/organizations/'),
      Buffer.from([0xff, 0xfe, 0xc3]),
      Buffer.from(' HTTP/1.1\r\nHost: x\r\n\r\n'),
    ]);
    expectRawProblem(await refused(request), 400, 'malformed_request');
  });

  // @see issue 10 #17 (Node's own answer was an empty 400)
  it('an HTTP/1.1 request without a Host header: 400 malformed_request problem+json', async () => {
    expectRawProblem(await refused('GET /health HTTP/1.1\r\n\r\n'), 400, 'malformed_request');
  });

  // @see issue 10 #17
  it('an HTTP/1.1 request with two Host headers: 400 malformed_request problem+json', async () => {
    expectRawProblem(
      await refused('GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'),
      400,
      'malformed_request',
    );
  });

  // @see issue 10 #17
  it('headers over 16 KiB: 431 problem+json with Connection: close', async () => {
    const res = await refused(
      `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expectRawProblem(res, 431, 'request_headers_too_large');
  });

  // @see issue 10 #17: without Connection: close, a keep-alive client reused the dead socket.
  it("after a 431, a keep-alive client's next request succeeds", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const get = (headers: Record<string, string>) =>
      new Promise<{ status: number; connection?: string; type?: string }>((resolve, reject) => {
        const req = http.get(
          { host: '127.0.0.1', port, path: '/health', agent, headers },
          (res) => {
            res.resume();
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                connection: res.headers.connection,
                type: res.headers['content-type'],
              }),
            );
          },
        );
        req.on('error', reject);
      });
    try {
      const big = await get({ 'x-big': 'a'.repeat(20_000) });
      expect(big.status).toBe(431);
      expect(big.connection).toBe('close');
      expect(big.type).toMatch(/^application\/problem\+json/);
      const next = await get({});
      expect(next.status).toBe(200);
    } finally {
      agent.destroy();
    }
  });

  // @see issue 10 #17 (Node's own answer was an empty 417)
  it('an Expect other than 100-continue: 417 expectation_failed problem+json', async () => {
    const res = await refused(
      'POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}',
    );
    expectRawProblem(res, 417, 'expectation_failed');
  });

  // @see issue 10 #17 (Node dropped the connection without a word)
  it('CONNECT: 405 method_not_allowed problem+json', async () => {
    const res = await refused('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    expectRawProblem(res, 405, 'method_not_allowed');
  });
});

describe('errors the framework answers, over a real connection', () => {
  const answer = (request: string) => rawExchange(port, [request], { until: 'answer' });

  // @see issue 10 #17
  it('an unknown route: 404 not_found problem+json', async () => {
    expectRawProblem(
      await answer('GET /v1/no-such-thing HTTP/1.1\r\nHost: x\r\n\r\n'),
      404,
      'not_found',
    );
  });

  // @see issue 10 #17
  it('a method a path does not have: 405 method_not_allowed problem+json with Allow', async () => {
    const res = await answer('DELETE /health HTTP/1.1\r\nHost: x\r\n\r\n');
    expectRawProblem(res, 405, 'method_not_allowed');
    expect(res.headers.allow?.split(', ')).toEqual(expect.arrayContaining(['GET', 'HEAD']));
  });

  // @see issue 10 #17
  it('a body over the limit: 413 payload_too_large problem+json', async () => {
    const res = await rawExchange(port, [
      'POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 300000\r\n\r\n{',
    ]);
    expectRawProblem(res, 413, 'payload_too_large');
  });

  // @see issue 10 #17
  it('a body that is not JSON: 415 unsupported_media_type problem+json', async () => {
    expectRawProblem(
      await answer(
        'POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nabc',
      ),
      415,
      'unsupported_media_type',
    );
  });

  // @see issue 10 #17
  it('bad JSON: 400 malformed_json problem+json', async () => {
    expectRawProblem(
      await answer(
        'POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 3\r\n\r\n{x}',
      ),
      400,
      'malformed_json',
    );
  });

  // @see issue 10 #17
  it('a path that is not valid percent-encoding: 400 problem+json', async () => {
    const res = await answer('GET /v1/organizations/%E0%A4%A HTTP/1.1\r\nHost: x\r\n\r\n');
    expectRawProblem(res, 400, 'validation_failed');
  });
});

describe('slow and silent clients', () => {
  // @see issue 10 #16: a connection that sent part of its headers stayed open for minutes.
  it('part of the headers, then silence: 408 request_timeout problem+json, connection closed', async () => {
    const res = await rawExchange(port, ['GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: '], {
      waitMs: 10_000,
    });
    expect(res.closed, 'the server closes the connection').toBe(true);
    expectRawProblem(res, 408, 'request_timeout');
    expect(res.headers.connection).toBe('close');
  });

  // @see issue 10 #16: a connection that sent part of its body stayed open 330+ s.
  it('the headers and part of the body, then silence: 408 problem+json, connection closed', async () => {
    const res = await rawExchange(
      port,
      [
        'POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"email":',
      ],
      { waitMs: 10_000 },
    );
    expect(res.closed, 'the server closes the connection').toBe(true);
    expectRawProblem(res, 408, 'request_timeout');
  });

  // @see issue 10 #16: trickling the body byte by byte does not extend the deadline.
  it('a body trickled slowly: cut off with 408 although bytes keep coming', async () => {
    const head =
      'POST /v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n';
    const res = await rawExchange(port, [head, ...Array.from({ length: 200 }, () => ' ')], {
      pauseMs: 100,
      waitMs: 15_000,
    });
    expect(res.closed, 'the server closes the connection').toBe(true);
    expectRawProblem(res, 408, 'request_timeout');
  });

  // @see issue 10 #16
  it('an idle kept-alive connection is closed', async () => {
    const res = await rawExchange(port, ['GET /health HTTP/1.1\r\nHost: x\r\n\r\n'], {
      waitMs: 10_000,
    });
    expect(res.status).toBe(200);
    expect(res.closed, 'the server closes the idle connection').toBe(true);
  });
});
