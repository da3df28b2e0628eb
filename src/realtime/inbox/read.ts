import type { FastifyBaseLogger } from 'fastify';
import * as readMarkers from '../../db/repositories/read-markers.js';
import { forbidden } from '../../errors.js';
import { readPayload } from '../../schemas/socket.js';
import { withAck } from '../ack.js';
import type { InboxSocket, RealtimeContext } from '../context.js';

/** Stores the read marker (only forward), then tells the room where it now stands. */
export const onRead = (ctx: RealtimeContext, socket: InboxSocket, log: FastifyBaseLogger) =>
  withAck(log, 'read', readPayload, async ({ conversation_id, seq }) => {
    const userId = socket.data.user.id;
    const stored = await readMarkers.advanceReadMarker(ctx.sql, userId, conversation_id, seq);
    if (stored === null) throw forbidden('Not a member of that conversation');
    ctx.broadcaster.read(conversation_id, userId, stored);
    return {};
  });
