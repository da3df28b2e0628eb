import { assertWatchable, getOwnJob } from '../../domain/jobs.js';
import { jobPayload } from '../../schemas/socket.js';
import { withAck } from '../ack.js';
import { jobRoom } from '../rooms.js';
import type { InboxHandlerFactory } from './connection.js';

/**
 * `job:watch` / `job:unwatch`. Watching authorises, joins the room, and only then reads the
 * snapshot for the ack: a change stored after that read is also published to the room, so
 * nothing is lost; the client drops what it gets twice by `seq`.
 */
export const jobWatchHandlers: InboxHandlerFactory = (ctx, socket, log) => {
  const userId = socket.data.user.id;
  socket.on(
    'job:watch',
    withAck(log, 'job:watch', jobPayload, async ({ job_id }) => {
      await assertWatchable(ctx.sql, userId, job_id);
      await socket.join(jobRoom(job_id));
      return { job: await getOwnJob(ctx.sql, userId, job_id) };
    }),
  );
  socket.on(
    'job:unwatch',
    withAck(log, 'job:unwatch', jobPayload, async ({ job_id }) => {
      await socket.leave(jobRoom(job_id));
      return {};
    }),
  );
};
