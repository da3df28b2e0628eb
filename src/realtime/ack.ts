import type { FastifyBaseLogger } from 'fastify';
import type { Socket } from 'socket.io';
import type { z } from 'zod';
import { AppError, isStorageUnavailable, type ErrorBody } from '../errors.js';
import type { Ack } from './protocol.js';

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

/** A handler gets the payload and the socket it came from (nothing is allocated per event for it). */
type Handler<S extends z.ZodType, R extends object, T> = (payload: z.infer<S>, socket: T) => Promise<R>;

/**
 * A socket event listener built once per namespace and shared by all its sockets: Socket.IO
 * calls it with the socket as `this`. One closure per event for the whole pod instead of a chain
 * of closures per socket (about 45 of the 48 closures an idle socket held; docs/performance.md).
 */
export type SocketListener<T> = (this: T, payload: unknown, ack?: unknown) => Promise<void>;

/** The socket's child logger, made on first use (a warning or an error): idle sockets hold none. */
export function socketLogger(log: FastifyBaseLogger, socket: Pick<Socket, 'id' | 'data'>): FastifyBaseLogger {
  return log.child({ socket: socket.id, user: (socket.data as { user?: { id: number } }).user?.id });
}

/**
 * Wraps a socket event handler: validate → run → ack. Every path answers exactly one ack,
 * whatever the client sent and however long the store takes; nothing a client sends can
 * throw out of here.
 */
export function withAck<S extends z.ZodType, R extends object, T extends Pick<Socket, 'id' | 'data'> = Socket>(
  log: FastifyBaseLogger,
  event: string,
  schema: S,
  handler: Handler<S, R, T>,
  deadlineMs = ACK_DEADLINE_MS,
  /** A hand-checked fast path for the common payload (null: let the schema decide). */
  fast?: (payload: unknown) => z.infer<S> | null,
): SocketListener<T> {
  return async function (this: T, payload: unknown, ack?: unknown): Promise<void> {
    const reply = typeof ack === 'function' ? (ack as (a: Ack<R>) => void) : () => {};
    log.debug({ event, socket: this.id }, 'socket event');
    const quick = fast?.(payload) ?? null;
    let data: z.infer<S>;
    if (quick !== null) data = quick;
    else {
      const parsed = schema.safeParse(payload);
      if (!parsed.success) return reply({ ok: false, error: invalid(parsed.error) });
      data = parsed.data as z.infer<S>;
    }
    const outcome = run(handler, data, this, log, event);
    reply(
      await withDeadline(outcome, deadlineMs, () => {
        const socketLog = socketLogger(log, this);
        socketLog.warn({ event, deadlineMs }, 'no outcome before the ack deadline; answered unavailable');
        void outcome.then((late) => socketLog.warn({ event, ok: late.ok }, 'outcome arrived after the ack deadline'));
        return { ok: false, error: DEADLINE_ERROR };
      }),
    );
  };
}

async function run<S extends z.ZodType, R extends object, T extends Pick<Socket, 'id' | 'data'>>(
  handler: Handler<S, R, T>,
  payload: z.infer<S>,
  socket: T,
  log: FastifyBaseLogger,
  event: string,
): Promise<Ack<R>> {
  try {
    return { ok: true, ...(await handler(payload, socket)) };
  } catch (err) {
    return { ok: false, error: toErrorBody(err, () => socketLogger(log, socket), event) };
  }
}

/**
 * Settles as `work` does, or resolves with `onLate()` once `ms` have passed. `work` is not
 * cancelled: its late result is the caller's to observe, and a late rejection is already
 * handled here, so it never surfaces as an unhandled rejection.
 *
 * Every pending deadline of one length shares one timer (see DeadlineQueue): a `setTimeout`
 * and a `clearTimeout` per socket event cost the event loop more than the event's ack.
 */
export function withDeadline<T>(work: Promise<T>, ms: number, onLate: () => T): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const queue = deadlineQueue(ms);
    const entry = queue.add(() => {
      if (settled) return;
      settled = true;
      try {
        resolve(onLate());
      } catch (err) {
        reject(err);
      }
    });
    work.then(
      (value) => {
        if (settled) return;
        settled = true;
        queue.remove(entry);
        resolve(value);
      },
      (err: unknown) => {
        if (settled) return;
        settled = true;
        queue.remove(entry);
        reject(err);
      },
    );
  });
}

interface DeadlineEntry {
  due: number;
  onDue(): void;
}

/**
 * Deadlines of one length, due in the order they were added (a Set keeps insertion order and
 * deletes in O(1)), behind one timer armed for the oldest. A deadline met is only removed
 * from the set; the timer is re-armed when it fires, for whatever is then the oldest, so a
 * steady stream of events costs about one timer per `ms`, not one per event. While nothing is
 * pending the timer is unref'd, so it never keeps a stopping process alive.
 */
export class DeadlineQueue {
  private readonly entries = new Set<DeadlineEntry>();
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly ms: number) {}

  add(onDue: () => void): DeadlineEntry {
    const entry = { due: performance.now() + this.ms, onDue };
    this.entries.add(entry);
    if (!this.timer) this.arm(this.ms);
    else if (this.entries.size === 1) this.timer.ref();
    return entry;
  }

  remove(entry: DeadlineEntry): void {
    this.entries.delete(entry);
    if (this.entries.size === 0) this.timer?.unref();
  }

  get size(): number {
    return this.entries.size;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.fire(), Math.max(1, Math.ceil(ms)));
    if (this.entries.size === 0) this.timer.unref();
  }

  private fire(): void {
    this.timer = null;
    const now = performance.now();
    for (const entry of this.entries) {
      if (entry.due > now) return this.arm(entry.due - now);
      this.entries.delete(entry);
      entry.onDue();
    }
  }
}

const deadlineQueues = new Map<number, DeadlineQueue>();
const deadlineQueue = (ms: number): DeadlineQueue => {
  let q = deadlineQueues.get(ms);
  if (!q) deadlineQueues.set(ms, (q = new DeadlineQueue(ms)));
  return q;
};

function invalid(error: z.ZodError): ErrorBody {
  const issue = error.issues[0];
  const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  return { code: 'invalid_payload', message: `${where}${issue?.message ?? 'invalid payload'}` };
}

function toErrorBody(err: unknown, logOf: () => FastifyBaseLogger, event: string): ErrorBody {
  if (err instanceof AppError) return err.toBody();
  const log = logOf();
  if (isStorageUnavailable(err)) {
    log.warn({ event, err: (err as Error).message }, 'storage unavailable');
    return { code: 'unavailable', message: 'Storage is unavailable; nothing was stored' };
  }
  log.error({ event, err }, 'socket handler failed');
  return { code: 'unavailable', message: 'Internal error; nothing was stored' };
}
