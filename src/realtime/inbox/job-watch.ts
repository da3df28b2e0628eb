import { jobPayload } from '../../schemas/socket.js';
import { withAck } from '../ack.js';
import { callerOf } from '../context.js';
import { jobRoom } from '../rooms.js';
import type { InboxHandlerFactory } from './connection.js';

/** `job:watch` / `job:unwatch`: the job service authorises, the socket joins `job_<id>`, then the snapshot is read. */
export const jobWatchHandlers: InboxHandlerFactory = (ctx, socket, log) => {
  const caller = callerOf(socket);
  socket.on(
    'job:watch',
    withAck(log, 'job:watch', jobPayload, async ({ job_id }) => ({
      job: await ctx.services.jobs.watch(caller, job_id, async () => {
        await socket.join(jobRoom(job_id));
      }),
    })),
  );
  socket.on(
    'job:unwatch',
    withAck(log, 'job:unwatch', jobPayload, async ({ job_id }) => {
      await socket.leave(jobRoom(job_id));
      return {};
    }),
  );
};
