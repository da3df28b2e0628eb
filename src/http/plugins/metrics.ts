import { timingSafeEqual } from 'node:crypto';
import { hostname } from 'node:os';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ConfigError, type Config } from '../../config.js';
import { unauthorized } from '../../errors.js';
import { INBOX_NAMESPACE } from '../../realtime/rooms.js';

/** What the realtime layer records; created once per app, so tests can build several apps. */
export interface HubMetrics {
  registry: Registry;
  messagesStored: Counter;
  messagesBroadcast: Counter;
  /** Time from a socket event's arrival to its ack, by event and outcome (ok or error code). */
  ackLatency: Histogram<'event' | 'outcome'>;
  /** Job status changes, by state, from BullMQ's event stream (every pod sees all of them). */
  jobEvents: Counter<'state'>;
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: HubMetrics;
  }
}

export function createHubMetrics(pod: string): HubMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ pod });
  // Default process metrics include nodejs_eventloop_lag_seconds and its percentiles.
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    messagesStored: new Counter({ name: 'inbox_messages_stored_total', help: 'message events acknowledged as stored (a retried client_msg_id is acknowledged, and counted, again)', registers }),
    messagesBroadcast: new Counter({ name: 'inbox_messages_broadcast_total', help: 'Chat messages broadcast to their room', registers }),
    ackLatency: new Histogram({
      name: 'inbox_socket_ack_seconds',
      help: 'Socket event handling time until the acknowledgement',
      labelNames: ['event', 'outcome'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    jobEvents: new Counter({
      name: 'inbox_job_events_total',
      help: 'Job status changes by state, from BullMQ events (every pod counts all jobs: use max, not sum)',
      labelNames: ['state'],
      registers,
    }),
  };
}

/**
 * Prometheus metrics at /metrics. With METRICS_TOKEN set, a scraper must send it as a
 * bearer token; without it the endpoint is open, which production refuses (the metrics name
 * pods and show traffic): a production hub without the token stops at start.
 */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    if (config.NODE_ENV === 'production' && !config.METRICS_TOKEN) {
      throw new ConfigError('Invalid configuration: METRICS_TOKEN: required when NODE_ENV=production');
    }
    const metrics = createHubMetrics(process.env.HOSTNAME ?? `${hostname()}:${process.pid}`);
    new Gauge({
      name: 'inbox_connected_sockets',
      help: 'Sockets connected to this pod, by namespace (/chat counts every legacy namespace)',
      labelNames: ['namespace'],
      registers: [metrics.registry],
      collect() {
        this.reset();
        if (!app.hasDecorator('io')) return;
        for (const [name, nsp] of app.io._nsps) {
          const label = name === INBOX_NAMESPACE || name === '/' ? name : '/chat';
          this.inc({ namespace: label }, nsp.sockets.size);
        }
      },
    });
    app.decorate('metrics', metrics);
    app.get('/metrics', { schema: { hide: true } }, async (request, reply) => {
      if (config.METRICS_TOKEN && !hasToken(request, config.METRICS_TOKEN)) throw unauthorized('Metrics token required');
      return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    });
  },
  { name: 'metrics' },
);

function hasToken(request: FastifyRequest, token: string): boolean {
  const expected = Buffer.from(`Bearer ${token}`);
  const given = Buffer.from(request.headers.authorization ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}
