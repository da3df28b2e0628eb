import fp from 'fastify-plugin';
import type { Config } from '../../config.js';
import type { Broadcaster, InboxServer } from '../../realtime/broadcaster.js';
import { createSocketServer, type SocketServer } from '../../realtime/io.js';

declare module 'fastify' {
  interface FastifyInstance {
    io: InboxServer;
    /** The one door to the rooms; the services publish through it. */
    broadcaster: Broadcaster;
    socketServer: SocketServer;
  }
}

/**
 * Socket.IO on Fastify's HTTP server, with the Redis adapter (src/realtime/io.ts). Its
 * namespaces are served by the realtime plugin, once the services exist; the adapter's
 * connections close with the app, after the realtime plugin has closed the server.
 */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    const server = await createSocketServer(app.server, config, app.log, app.metrics);
    app.decorate('io', server.io);
    app.decorate('broadcaster', server.broadcaster);
    app.decorate('socketServer', server);
    app.addHook('onClose', () => server.close());
  },
  { name: 'socket-io', dependencies: ['redis', 'metrics'] },
);
