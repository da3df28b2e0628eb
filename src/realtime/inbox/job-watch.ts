import { WATCH_LEASE_MS } from '../../domain/job-watchers.js';
import { jobPayload, jobWatchPayload, WATCH_OUTPUT_LIMIT } from '../../schemas/socket.js';
import { socketLogger, withAck } from '../ack.js';
import type { InboxNamespace } from '../broadcaster.js';
import { callerOf, type InboxSocket } from '../context.js';
import { jobIdOfRoom, jobRoom } from '../rooms.js';
import type { InboxHandlerFactory } from './connection.js';

/**
 * `job:watch` / `job:unwatch`: the job service authorises, the socket joins `job_<id>`, the
 * watch is recorded in Redis (no notice for a job's end while it lasts), then the snapshot and
 * the stored output from `output_from` are read. A disconnect ends the socket's watches.
 */
export const jobWatchHandlers: InboxHandlerFactory = (ctx) => ({
  'job:watch': withAck(ctx.log, 'job:watch', jobWatchPayload, async ({ job_id, output_from }, socket: InboxSocket) =>
    ctx.services.jobs.watch(
      callerOf(socket),
      job_id,
      async () => {
        await socket.join(jobRoom(job_id));
      },
      {
        socketId: socket.id,
        outputFrom: output_from,
        outputLimit: WATCH_OUTPUT_LIMIT,
        onWatchError: (err) => socketLogger(ctx.log, socket).warn({ err: (err as Error).message }, 'job:watch: could not record the watch in redis'),
      },
    ),
  ),
  'job:unwatch': withAck(ctx.log, 'job:unwatch', jobPayload, async ({ job_id }, socket: InboxSocket) => {
    await socket.leave(jobRoom(job_id));
    await ctx.services.jobs.unwatch(job_id, socket.id).catch((err: unknown) => socketLogger(ctx.log, socket).warn({ err: (err as Error).message }, 'job:unwatch: redis unavailable'));
    return {};
  }),
  disconnecting(this: InboxSocket) {
    for (const room of this.rooms) {
      const jobId = jobIdOfRoom(room);
      if (jobId !== null) void ctx.services.jobs.unwatch(jobId, this.id).catch(() => {});
    }
  },
});

/**
 * Renews the watch leases of this pod's sockets (the `job_<id>` rooms each one is in) every
 * third of the lease, so a watch lasts while its socket is connected and a pod that dies
 * stops counting as watching within WATCH_LEASE_MS.
 */
export function renewJobWatches(
  inbox: InboxNamespace,
  renew: (watches: Array<[string, string]>) => Promise<void>,
  onError: (err: unknown) => void,
  everyMs = WATCH_LEASE_MS / 3,
): () => void {
  const timer = setInterval(() => {
    const watches: Array<[string, string]> = [];
    for (const socket of inbox.sockets.values()) {
      for (const room of socket.rooms) {
        const jobId = jobIdOfRoom(room);
        if (jobId !== null) watches.push([jobId, socket.id]);
      }
    }
    if (watches.length > 0) renew(watches).catch(onError);
  }, everyMs).unref();
  return () => clearInterval(timer);
}
