import { timingSafeEqual } from 'node:crypto';
import { hostname } from 'node:os';
import type { FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ConfigError, type Config } from '../../config.js';
import { unauthorized } from '../../errors.js';
import { createHubMetrics, type HubMetrics } from '../../metrics.js';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: HubMetrics;
  }
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
