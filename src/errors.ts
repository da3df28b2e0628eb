/** The closed catalogue of error codes of the contract, with their HTTP statuses. */
export const ERROR_STATUS = {
  invalid_payload: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  rate_limited: 429,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** The wire shape of every error, over HTTP (`{error}`) and in socket acks (`{ok: false, error}`). */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
}

/** A failure the caller may see: services throw it, the HTTP handler and the ack wrapper translate it. */
export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }

  toBody(): ErrorBody {
    return { code: this.code, message: this.message };
  }
}

export const invalidPayload = (message: string) => new AppError('invalid_payload', message);
export const unauthorized = (message = 'Authentication required') => new AppError('unauthorized', message);
export const forbidden = (message = 'Not allowed') => new AppError('forbidden', message);
export const notFound = (what = 'Resource') => new AppError('not_found', `${what} not found`);
export const conflict = (message: string) => new AppError('conflict', message);
export const rateLimited = (message = 'Too many requests, slow down') => new AppError('rate_limited', message);
export const unavailable = (message = 'Storage is unavailable; nothing was stored') => new AppError('unavailable', message);

// Network failures (Node), postgres.js connection states, and SQLSTATEs meaning "the
// server is going away or cannot take work": admin shutdown / crash recovery (57P0x),
// connection exceptions (08xxx), resources exhausted (53xxx), and a statement cancelled
// by its timeout or a lock timeout (57014, 55P03), which rolled it back.
const TRANSIENT_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH',
  'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT',
  '57P01', '57P02', '57P03', '57014', '55P03', '53000', '53100', '53200', '53300',
  '08000', '08003', '08006', '08001', '08004',
]);

// ioredis rejects queued commands with these when the connection is down (no `code`).
const REDIS_UNAVAILABLE_NAMES = new Set(['MaxRetriesPerRequestError']);
const REDIS_UNAVAILABLE_MESSAGES = new Set(['Connection is closed.', 'Command timed out', "Stream isn't writeable and enableOfflineQueue options is false"]);

/**
 * Errors from the Postgres or Redis clients that mean "the store did not answer"
 * rather than "the request was wrong": connection refused, reset, timed out, shutting down.
 * Wrappers are looked through: drizzle (the migrator) rethrows driver errors as the `cause` of
 * a DrizzleQueryError, and Node's happy-eyeballs connect gives an AggregateError.
 */
export function isStorageUnavailable(err: unknown): boolean {
  return unavailableWithin(err, 0);
}

function unavailableWithin(err: unknown, depth: number): boolean {
  if (!(err instanceof Error) || depth > 4) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && TRANSIENT_CODES.has(code)) return true;
  if (REDIS_UNAVAILABLE_NAMES.has(err.name) || REDIS_UNAVAILABLE_MESSAGES.has(err.message)) return true;
  if (err instanceof AggregateError && err.errors.some((e) => unavailableWithin(e, depth + 1))) return true;
  return unavailableWithin(err.cause, depth + 1);
}
