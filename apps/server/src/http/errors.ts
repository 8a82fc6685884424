import { type ErrorCode, ErrorCodes, type Problem } from '@gatehouse/contracts';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { isForeignKeyViolation } from '../db/dialect';

/** The one error type services throw; rendered once, below, as problem+json. */
export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    readonly detail?: string,
    readonly extensions: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? ErrorCodes[code].title);
    this.status = ErrorCodes[code].status;
  }
}

/** A one-line guard: `assertThat(user, 'not_found')`. */
export function assertThat(
  condition: unknown,
  code: ErrorCode,
  detail?: string,
): asserts condition {
  if (!condition) throw new AppError(code, detail);
}

export function problem(
  code: ErrorCode,
  detail?: string,
  extensions: Record<string, unknown> = {},
): Problem {
  const { status, title } = ErrorCodes[code];
  return {
    type: `https://gatehouse.dev/problems/${code.replace(/_/g, '-')}`,
    title,
    status,
    code,
    ...(detail ? { detail } : {}),
    ...extensions,
  };
}

/**
 * At most this many entries in a problem's `errors`; `errors_total` then says how many there
 * were. A body with thousands of bad elements must not buy a megabyte answer (issue 10 #5).
 */
export const MAX_PROBLEM_ERRORS = 20;

/** The first MAX_PROBLEM_ERRORS entries of a problem's `errors`, plus the total when cut. */
function capErrors(body: Problem): Problem {
  const errors = body.errors;
  if (!Array.isArray(errors) || errors.length <= MAX_PROBLEM_ERRORS) return body;
  return { ...body, errors: errors.slice(0, MAX_PROBLEM_ERRORS), errors_total: errors.length };
}

function sendProblem(
  reply: FastifyReply,
  request: FastifyRequest,
  body: Problem,
  headers: Record<string, string> = {},
) {
  reply
    .code(body.status)
    .headers(headers)
    .type('application/problem+json')
    .send(JSON.stringify({ ...capErrors(body), request_id: request.id }));
}

/** Maps framework errors (bad JSON, too large, validation) to stable codes; anything else is a 500 without details. */
function toProblem(
  error: FastifyError,
): { body: Problem; headers?: Record<string, string> } | null {
  if (hasZodFastifySchemaValidationErrors(error)) {
    const where = error.validationContext ?? 'body';
    return {
      body: problem('validation_failed', `The ${where} is not valid`, {
        // Only the entries that will be sent are formatted; the total is kept.
        ...(error.validation.length > MAX_PROBLEM_ERRORS
          ? { errors_total: error.validation.length }
          : {}),
        errors: error.validation.slice(0, MAX_PROBLEM_ERRORS).map((v) => ({
          path: `${where}${v.instancePath.replace(/\//g, '.').replace(/\.$/, '')}`,
          message: v.message ?? 'invalid',
          code: v.keyword,
        })),
      }),
    };
  }
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { body: problem('malformed_json', 'The body could not be parsed as JSON') };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { body: problem('payload_too_large') };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { body: problem('unsupported_media_type') };
    // The body received is not as long as its Content-Length said: a transport problem, not
    // the media type.
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return {
        body: problem('malformed_request', 'The body does not match its Content-Length'),
      };
    case 'FST_ERR_VALIDATION':
      return { body: problem('validation_failed', error.message) };
  }
  // Other 4xx raised by Fastify or plugins (e.g. a malformed URL) keep their status, with the
  // code the catalogue has for it.
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return { body: problem(STATUS_CODES[error.statusCode] ?? 'validation_failed', error.message) };
  }
  return null;
}

/** The catalogue's code for a status a framework error carries. */
const STATUS_CODES: Record<number, ErrorCode> = {
  404: 'not_found',
  405: 'method_not_allowed',
  408: 'request_timeout',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  417: 'expectation_failed',
  431: 'request_headers_too_large',
};

/** The methods a route may have; a path that has some but not the one asked answers 405. */
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

export function installErrorHandling(app: FastifyInstance) {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof AppError) {
      return sendProblem(
        reply,
        request,
        problem(error.code, error.detail, error.extensions),
        error.headers,
      );
    }
    const mapped = toProblem(error);
    if (mapped) return sendProblem(reply, request, mapped.body, mapped.headers);
    // A write that referred to a row a concurrent request deleted meanwhile (an account, an
    // organization): what it referred to is gone, which is a 404, not a server fault.
    if (isForeignKeyViolation(error))
      return sendProblem(
        reply,
        request,
        problem('not_found', 'What this request refers to was deleted meanwhile'),
      );
    // Never a stack trace to the client; the log has it, under the request id.
    request.log.error({ err: error }, 'unhandled error');
    return sendProblem(reply, request, problem('internal_error'));
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '/';
    // The router refuses a path parameter longer than it takes (maxParamLength) as if no route
    // matched; no Gatehouse path has a fixed segment that long, so it is a bad parameter: 400.
    const maxParam = app.initialConfig.maxParamLength ?? 100;
    if (path.split('/').some((segment) => segment.length > maxParam))
      return sendProblem(
        reply,
        request,
        problem('validation_failed', 'A path parameter is too long', {
          errors: [{ path: 'params', message: 'a path parameter is too long' }],
        }),
      );
    // A path that exists with other methods: 405 and the methods it has (RFC 9110 §15.5.6).
    // A catch-all (the console's `GET /*`) does not make every path exist.
    const allowed = METHODS.filter((method) => {
      if (method === request.method) return false;
      const found = app.findRoute({ method, url: path });
      return found !== null && !('*' in (found.params ?? {}));
    });
    if (allowed.length > 0)
      return sendProblem(
        reply,
        request,
        problem('method_not_allowed', `${path} does not accept ${request.method}`),
        { allow: allowed.join(', ') },
      );
    return sendProblem(reply, request, problem('not_found', `No route ${request.method} ${path}`));
  });
}
