import type { FastifyBaseLogger } from 'fastify';
import type { z } from 'zod';
import { AppError, isStorageUnavailable, type ErrorBody } from '../errors.js';
import type { Ack } from './protocol.js';

type Handler<S extends z.ZodType, R extends object> = (payload: z.infer<S>) => Promise<R>;

/**
 * The longest a client waits for an ack. Postgres answers a healthy hub in milliseconds and
 * cancels a statement stuck on a lock after HUB_STATEMENT_TIMEOUT_MS (5 s), and a pool
 * connection that cannot be opened fails after 5 s; only a server that accepted the query
 * and then stopped answering (frozen, partitioned without a reset) gets this far.
 */
export const ACK_DEADLINE_MS = 10_000;

/**
 * Past the deadline the outcome is unknown (the statement may still commit when the server
 * wakes up), so this ack does not claim that nothing was stored; a retry with the same
 * `client_msg_id` returns the stored message or stores it once.
 */
export const DEADLINE_ERROR: ErrorBody = {
  code: 'unavailable',
  message: 'Storage did not answer in time; retry with the same client_msg_id',
};

/**
 * Wraps a socket event handler: validate → run → ack. Every path answers exactly one ack,
 * whatever the client sent and however long the store takes; nothing a client sends can
 * throw out of here.
 */
export function withAck<S extends z.ZodType, R extends object>(
  log: FastifyBaseLogger,
  event: string,
  schema: S,
  handler: Handler<S, R>,
  deadlineMs = ACK_DEADLINE_MS,
) {
  return async (payload: unknown, ack?: unknown): Promise<void> => {
    const reply = typeof ack === 'function' ? (ack as (a: Ack<R>) => void) : () => {};
    log.debug({ event }, 'socket event');
    const parsed = schema.safeParse(payload);
    if (!parsed.success) return reply({ ok: false, error: invalid(parsed.error) });
    const outcome = run(handler, parsed.data, log, event);
    reply(
      await withDeadline(outcome, deadlineMs, () => {
        log.warn({ event, deadlineMs }, 'no outcome before the ack deadline; answered unavailable');
        void outcome.then((late) => log.warn({ event, ok: late.ok }, 'outcome arrived after the ack deadline'));
        return { ok: false, error: DEADLINE_ERROR };
      }),
    );
  };
}

async function run<S extends z.ZodType, R extends object>(handler: Handler<S, R>, payload: z.infer<S>, log: FastifyBaseLogger, event: string): Promise<Ack<R>> {
  try {
    return { ok: true, ...(await handler(payload)) };
  } catch (err) {
    return { ok: false, error: toErrorBody(err, log, event) };
  }
}

/**
 * Settles as `work` does, or resolves with `onLate()` once `ms` have passed. `work` is not
 * cancelled: its late result is the caller's to observe, and a late rejection is already
 * handled by the race, so it never surfaces as an unhandled rejection.
 */
export async function withDeadline<T>(work: Promise<T>, ms: number, onLate: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(onLate()), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

function invalid(error: z.ZodError): ErrorBody {
  const issue = error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  return { code: 'invalid_payload', message: `${where}${issue?.message ?? 'invalid payload'}` };
}

function toErrorBody(err: unknown, log: FastifyBaseLogger, event: string): ErrorBody {
  if (err instanceof AppError) return err.toBody();
  if (isStorageUnavailable(err)) {
    log.warn({ event, err: (err as Error).message }, 'storage unavailable');
    return { code: 'unavailable', message: 'Storage is unavailable; nothing was stored' };
  }
  log.error({ event, err }, 'socket handler failed');
  return { code: 'unavailable', message: 'Internal error; nothing was stored' };
}
