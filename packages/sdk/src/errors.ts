import { type ErrorCode, ErrorCodes, type Problem } from '@gatehouse/contracts';

export type { ErrorCode, Problem };

/** One failing field of a `validation_failed` answer. */
export interface FieldError {
  path: string;
  message: string;
  code?: string;
}

export interface GatehouseErrorOptions {
  /** the HTTP status; defaults to the catalogue's status for the code */
  status?: number;
  detail?: string;
  errors?: FieldError[];
  requestId?: string;
  /** the whole problem document, extensions included */
  problem?: Problem;
  cause?: unknown;
}

/**
 * Every problem Gatehouse answers (RFC 9457 `application/problem+json`) surfaces as one of
 * these; branch on `code`, which is stable, never on `message`. A code the SDK does not know
 * yet (a newer server) is passed through unchanged, so `code` may hold a value outside
 * `ErrorCode` at run time: keep a default branch.
 */
export class GatehouseError extends Error {
  override readonly name = 'GatehouseError';
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: string | undefined;
  readonly errors: FieldError[] | undefined;
  readonly requestId: string | undefined;
  readonly problem: Problem | undefined;

  constructor(code: ErrorCode, options: GatehouseErrorOptions = {}) {
    const known = ErrorCodes[code] as { status: number; title: string } | undefined;
    super(options.detail ?? known?.title ?? code, { cause: options.cause });
    this.code = code;
    this.status = options.status ?? known?.status ?? 500;
    this.detail = options.detail;
    this.errors = options.errors;
    this.requestId = options.requestId;
    this.problem = options.problem;
  }

  /** Builds the error from a problem document (and the response status, which wins). */
  static fromProblem(problem: Problem, status = problem.status): GatehouseError {
    return new GatehouseError(problem.code, {
      status,
      ...(typeof problem.detail === 'string' ? { detail: problem.detail } : {}),
      ...(Array.isArray(problem.errors) ? { errors: problem.errors } : {}),
      ...(typeof problem.request_id === 'string' ? { requestId: problem.request_id } : {}),
      problem,
    });
  }
}

/** `true` when `error` is a GatehouseError (of one of `codes`, when given). */
export function isGatehouseError(error: unknown, ...codes: ErrorCode[]): error is GatehouseError {
  return error instanceof GatehouseError && (codes.length === 0 || codes.includes(error.code));
}

/** The code a non-problem error answer (a proxy's HTML 502, say) is reported under. */
export function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 400:
      return 'validation_failed';
    case 401:
      return 'unauthenticated';
    case 403:
      return 'forbidden';
    case 404:
      return 'not_found';
    case 405:
      return 'method_not_allowed';
    case 409:
      return 'conflict';
    case 413:
      return 'payload_too_large';
    case 415:
      return 'unsupported_media_type';
    case 429:
      return 'rate_limited';
    case 502:
    case 503:
    case 504:
      return 'service_unavailable';
    default:
      return 'internal_error';
  }
}

/** A problem document as Gatehouse itself renders it (same `type` URIs and titles). */
export function problemOf(
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
