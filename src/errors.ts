/**
 * One error type for all of Weir, with a stable `code` users can match on.
 * Serialised across the API as `{ "error": { "code", "message", "details" } }`.
 */
export const ERROR_STATUS = {
  CONFIG_INVALID: 400,
  BAD_REQUEST: 400,
  VALIDATION_FAILED: 400,
  QUERY_INVALID: 400,
  QUERY_TIMEOUT: 503,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  EXPECTATION_FAILED: 417,
  HEADERS_TOO_LARGE: 431,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  NO_ROUTE: 404,
  NO_UPSTREAM: 503,
  UPSTREAM_UNAVAILABLE: 503,
  UPSTREAM_CONNECT_FAILED: 502,
  UPSTREAM_RESET: 502,
  UPSTREAM_BAD_RESPONSE: 502,
  UPSTREAM_RESPONSE_TOO_LARGE: 502,
  UPSTREAM_TIMEOUT: 504,
  UPSTREAM_CONNECT_TIMEOUT: 504,
  REQUEST_BODY_TOO_LARGE: 413,
  CLIENT_CLOSED: 499,
  SHUTTING_DOWN: 503,
  OVERLOADED: 503,
  HALTED: 409,
  /** A fault injected on purpose (fault rules, drills, test-traffic fault headers); the status is the fault's. */
  FAULT_INJECTED: 503,
  /** A shadow or compare copy abandoned at its timeout (copies only; never a user's answer). */
  SHADOW_TIMEOUT: 504,
  GATE_CLOSED: 409,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

/** The base error. `status` is the HTTP status used when it crosses the API or the proxy. */
export class WeirError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'WeirError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.details = options.details;
  }

  toJSON(): ErrorBody {
    const error: ErrorBody['error'] = { code: this.code, message: this.message };
    if (this.details !== undefined) error.details = this.details;
    return { error };
  }
}

/** Serialises any error as the API's error body; unknown errors become INTERNAL without leaking a stack. */
export function errorBody(err: unknown): { status: number; body: ErrorBody } {
  if (err instanceof WeirError) return { status: err.status, body: err.toJSON() };
  return { status: 500, body: { error: { code: 'INTERNAL', message: 'internal error' } } };
}
