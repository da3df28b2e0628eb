import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import fp from 'fastify-plugin';
import type { Config } from '../../config.js';
import { rateLimited } from '../../errors.js';

/**
 * Security headers, and the rate limiter whose counters live in Redis so a limit holds
 * across every pod (routes opt in with `app.rateLimit(...)`).
 */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    const production = config.NODE_ENV === 'production';
    await app.register(helmet, {
      contentSecurityPolicy: {
        directives: {
          // The demo page loads only its own bundle and styles; sockets go to the same origin.
          'connect-src': ["'self'"],
          'img-src': ["'self'", 'data:', 'https:'],
          // Over plain http (npm run dev opened by the machine's address, say from a phone) this
          // would send the page's own scripts and styles to an https port nobody serves.
          'upgrade-insecure-requests': production ? [] : null,
        },
      },
      // HSTS pins a host to https for a year: only a production deployment behind TLS wants it.
      strictTransportSecurity: production,
    });
    await app.register(rateLimit, {
      global: false,
      redis: app.redis,
      nameSpace: `${config.REDIS_PREFIX}:ratelimit:`,
      // A Redis outage must not lock everybody out of logging in.
      skipOnError: true,
      errorResponseBuilder: (_request, ctx) => rateLimited(`Too many attempts; retry in ${ctx.after}`),
    });
  },
  { name: 'security', dependencies: ['redis'] },
);
