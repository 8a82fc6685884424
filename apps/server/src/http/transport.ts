import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { ErrorCode } from '@gatehouse/contracts';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import type { Config } from '../config';
import { problem } from './errors';

/**
 * The HTTP server under Fastify (issue 10 #16, #17): its timeouts, and an answer for everything
 * Node itself would otherwise answer (or not) before a request reaches Fastify. Every error a
 * client can receive is problem+json with a stable `code`:
 *
 * - a request the HTTP parser rejects (NUL in the path or a header, a bad chunk, two
 *   Content-Lengths, Content-Length with Transfer-Encoding, bare LF line ends, a bad version or
 *   method, bytes that are not a URL) → 400 `malformed_request`;
 * - headers larger than Node's limit (16 KiB) → 431 `request_headers_too_large`;
 * - headers or a whole request (body included) not received in time → 408 `request_timeout`;
 * - an HTTP/1.1 request without exactly one Host header (Node's own answer is an empty 400)
 *   → 400 `malformed_request`;
 * - an `Expect` other than 100-continue (Node: an empty 417) → 417 `expectation_failed`;
 * - CONNECT (Node: the connection is dropped) → 405 `method_not_allowed`;
 * - a request arriving while the server shuts down → 503 `service_unavailable`.
 *
 * These answers carry `Connection: close` and the connection is closed after them: after a
 * parse error the rest of the byte stream cannot be trusted to start a new request.
 */

/** Sent with every answer written here, as helmet sends them on the others. */
const SAFE_HEADERS: Record<string, string> = {
  'Cache-Control': 'no-store',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
};

function problemBody(code: ErrorCode, detail?: string): { status: number; body: string } {
  const body = problem(code, detail);
  return { status: body.status, body: JSON.stringify(body) };
}

/** A complete HTTP/1.1 answer for a bare socket: status line, headers, problem+json body. */
export function rawProblemResponse(
  code: ErrorCode,
  detail?: string,
  extraHeaders: Record<string, string> = {},
): string {
  const { status, body } = problemBody(code, detail);
  const headers = {
    'Content-Type': 'application/problem+json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    Connection: 'close',
    ...SAFE_HEADERS,
    ...extraHeaders,
  };
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  return `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\n${lines.join('\r\n')}\r\n\r\n${body}`;
}

/** Answers through Node's response object (the request was parsed; Fastify never sees it). */
function answer(
  res: ServerResponse,
  code: ErrorCode,
  detail: string,
  extraHeaders: Record<string, string> = {},
) {
  const { status, body } = problemBody(code, detail);
  res.shouldKeepAlive = false;
  res.writeHead(status, {
    'Content-Type': 'application/problem+json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    Connection: 'close',
    ...SAFE_HEADERS,
    ...extraHeaders,
  });
  res.end(body);
}

/** Why an HTTP/1.1 request's Host header is unusable (RFC 9112 §3.2: exactly one), or null. */
function hostProblem(req: IncomingMessage): string | null {
  if (req.httpVersionMajor !== 1 || req.httpVersionMinor < 1) return null;
  let count = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2)
    if (req.rawHeaders[i]!.length === 4 && req.rawHeaders[i]!.toLowerCase() === 'host') count++;
  if (count === 0) return 'An HTTP/1.1 request needs a Host header';
  if (count > 1) return 'A request has one Host header, not several';
  return null;
}

/** The code and detail for an error of the HTTP parser or of Node's request timers. */
function clientErrorProblem(error: NodeJS.ErrnoException & { reason?: unknown }): {
  code: ErrorCode;
  detail: string;
} {
  switch (error.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return {
        code: 'request_timeout',
        detail: 'The request headers or body did not arrive in time',
      };
    case 'HPE_HEADER_OVERFLOW':
      return {
        code: 'request_headers_too_large',
        detail: 'The request line and headers must fit in 16 KiB',
      };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { code: 'payload_too_large', detail: 'The chunk extensions are too large' };
    default:
      // llhttp's reasons are fixed texts ("Invalid method encountered"), never request bytes.
      return {
        code: 'malformed_request',
        detail:
          typeof error.reason === 'string'
            ? `The request could not be parsed: ${error.reason}`
            : 'The request could not be parsed',
      };
  }
}

/** How long a socket we answered may still drain the client's bytes before it is destroyed. */
const LINGER_MS = 2_000;
const answered = new WeakSet<Socket>();

/**
 * Fastify's clientErrorHandler (Node's 'clientError' event). Node emits it again for each
 * chunk the failed parser is fed, so a socket is answered once.
 */
function onClientError(
  this: FastifyInstance,
  error: NodeJS.ErrnoException & { reason?: unknown },
  socket: Socket,
) {
  if (error.code === 'ECONNRESET' || error.code === 'EPIPE' || socket.destroyed) return;
  if (answered.has(socket)) return;
  answered.add(socket);
  const { code, detail } = clientErrorProblem(error);
  this.log.debug({ code: error.code, answer: code }, 'client error');
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
  // As Node does: a response already on its way on this connection cannot be interrupted.
  if (!socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  if (inFlight || code === 'request_timeout') {
    // A request is still open (a timed-out body): nothing more will be read from this client.
    socket.end(rawProblemResponse(code, detail));
    socket.once('finish', () => socket.destroy());
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
    return;
  }
  // Half-close after the answer and keep reading (and discarding) what the client still sends:
  // closing with unread bytes would send a reset, and the client could lose the answer.
  socket.end(rawProblemResponse(code, detail));
  setTimeout(() => socket.destroy(), LINGER_MS).unref();
}

/** The Fastify options that build, time and guard the HTTP server. */
export function transportOptions(
  config: Config,
): Pick<FastifyServerOptions, 'clientErrorHandler' | 'serverFactory' | 'return503OnClosing'> {
  const t = config.http;
  return {
    clientErrorHandler: onClientError,
    // Our guard answers problem+json once the server stops listening; Fastify's own 503 has
    // its own JSON shape.
    return503OnClosing: false,
    serverFactory: (handler) => {
      const server = http.createServer(
        {
          // Answered below as problem+json instead of Node's empty 400.
          requireHostHeader: false,
          headersTimeout: t.headersTimeoutMs,
          requestTimeout: t.requestTimeoutMs,
          // Node looks for expired requests this often (default 30 s, which would stretch a
          // 10 s headers timeout to 40 s).
          connectionsCheckingInterval: Math.max(
            50,
            Math.min(1_000, Math.floor(t.headersTimeoutMs / 4)),
          ),
        },
        (req, res) => {
          const hostIssue = hostProblem(req);
          if (hostIssue) return answer(res, 'malformed_request', hostIssue);
          if (!server.listening)
            return answer(res, 'service_unavailable', 'The server is shutting down', {
              'Retry-After': '1',
            });
          handler(req, res);
        },
      );
      server.keepAliveTimeout = t.keepAliveTimeoutMs;
      // No traffic either way for this long (a client that stopped reading its answer): closed.
      server.setTimeout(t.socketIdleTimeoutMs);
      server.on('checkExpectation', (_req, res: ServerResponse) =>
        answer(res, 'expectation_failed', 'Only "Expect: 100-continue" is understood'),
      );
      server.on('connect', (_req: IncomingMessage, socket: Socket) => {
        socket.on('error', () => {});
        socket.end(
          rawProblemResponse('method_not_allowed', 'CONNECT is not supported', {
            Allow: 'GET, HEAD, POST, PUT, PATCH, DELETE',
          }),
        );
        setTimeout(() => socket.destroy(), LINGER_MS).unref();
      });
      return server;
    },
  };
}
