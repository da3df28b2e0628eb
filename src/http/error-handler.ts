import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AppError, ERROR_STATUS, isStorageUnavailable, type ErrorBody, type ErrorCode } from '../errors.js';

/** Maps every thrown error to the contract's `{error: {code, message}}`; internals never leak. */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const { status, body } = toReply(err);
    if (status >= 500) request.log.error({ err }, 'request failed');
    const retryAfter = (err as { retryAfterSeconds?: unknown }).retryAfterSeconds;
    if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
    return reply.status(status).send({ error: body });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ error: { code: 'not_found', message: `Route ${request.method} ${request.url} not found` } }),
  );
}

function toReply(err: FastifyError): { status: number; body: ErrorBody } {
  if (err instanceof AppError) return { status: err.status, body: err.toBody() };
  if (hasZodFastifySchemaValidationErrors(err)) {
    const issue = err.validation[0];
    const where = issue?.instancePath ? `${issue.instancePath.slice(1).replaceAll('/', '.')}: ` : '';
    return clientError('invalid_payload', `${err.validationContext ?? 'body'} ${where}${issue?.message ?? 'is invalid'}`);
  }
  if (isStorageUnavailable(err)) return { status: 503, body: { code: 'unavailable', message: 'A backing service is unavailable' } };
  // The outcome of a write that timed out is unknown (it may still commit), so this does not say "nothing changed".
  if (err.code === 'FST_ERR_HANDLER_TIMEOUT') return { status: 503, body: { code: 'unavailable', message: 'The server did not answer in time' } };
  const status = err.statusCode ?? 500;
  if (status === 413) return clientError('too_large', 'Request body is too large');
  if (status === 429) return clientError('rate_limited', err.message || 'Too many requests');
  if (status >= 400 && status < 500) return { status, body: { code: codeForStatus(status), message: err.message } };
  return { status: 500, body: { code: 'unavailable', message: 'Internal error' } };
}

function clientError(code: ErrorCode, message: string) {
  return { status: ERROR_STATUS[code], body: { code, message } };
}

function codeForStatus(status: number): ErrorCode {
  const match = (Object.entries(ERROR_STATUS) as [ErrorCode, number][]).find(([, s]) => s === status);
  return match ? match[0] : 'invalid_payload';
}
