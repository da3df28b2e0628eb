import fp from 'fastify-plugin';
import type { Config } from '../../config.js';
import type { InboxHandlerFactory } from '../../realtime/inbox/connection.js';
import { serveSockets } from '../../realtime/io.js';

export interface RealtimeOptions {
  config: Config;
  /** Handlers for further /inbox events (the job tracker registers `job:watch` here). */
  inboxHandlers?: InboxHandlerFactory[];
}

/**
 * Serves /inbox and /chat/<id> on the Socket.IO server (src/realtime/io.ts), over the services.
 * SIGTERM: the sockets drain (every event received is acked) and close in preClose, so clients
 * reconnect to another pod while this one drains its HTTP requests and closes.
 */
export default fp<RealtimeOptions>(
  async (app, { config, inboxHandlers = [] }) => {
    const served = serveSockets(app.socketServer, {
      services: app.services,
      config,
      log: app.log,
      metrics: app.metrics,
      sessionFromCookie: app.sessionCookie.fromCookieHeader,
      inboxSessionFromCookie: app.sessionCookie.inboxFromCookieHeader,
      liveSessionIds: (ids) => app.services.sessions.liveIds(ids),
      redis: app.redis,
      inboxHandlers,
    });
    app.addHook('preClose', () => served.drainAndClose());
    app.addHook('onClose', async () => served.stop());
  },
  { name: 'realtime', dependencies: ['socket-io', 'services', 'session'] },
);
