import type { FastifyBaseLogger } from 'fastify';
import type { z } from 'zod';
import { AppError, isStorageUnavailable, type ErrorBody } from '../errors.js';
import type { Ack } from './protocol.js';

type Handler<S extends z.ZodType, R extends object> = (payload: z.infer<S>) => Promise<R>;

/**
 * Wraps a socket event handler: validate → run → ack. Every path answers exactly one ack,
 * whatever the client sent; nothing a client sends can throw out of here.
 */
export function withAck<S extends z.ZodType, R extends object>(
  log: FastifyBaseLogger,
  event: string,
  schema: S,
  handler: Handler<S, R>,
) {
  return async (payload: unknown, ack?: unknown): Promise<void> => {
    const reply = typeof ack === 'function' ? (ack as (a: Ack<R>) => void) : () => {};
    log.debug({ event }, 'socket event');
    const parsed = schema.safeParse(payload);
    if (!parsed.success) return reply({ ok: false, error: invalid(parsed.error) });
    try {
      reply({ ok: true, ...(await handler(parsed.data)) });
    } catch (err) {
      reply({ ok: false, error: toErrorBody(err, log, event) });
    }
  };
}

function invalid(error: z.ZodError): ErrorBody {
  const issue = error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  return { code: 'invalid_payload', message: `${where}${issue?.message ?? 'invalid payload'}` };
}

export function toErrorBody(err: unknown, log: FastifyBaseLogger, event: string): ErrorBody {
  if (err instanceof AppError) return err.toBody();
  if (isStorageUnavailable(err)) {
    log.warn({ event, err: (err as Error).message }, 'storage unavailable');
    return { code: 'unavailable', message: 'Storage is unavailable; nothing was stored' };
  }
  log.error({ event, err }, 'socket handler failed');
  return { code: 'unavailable', message: 'Internal error; nothing was stored' };
}
