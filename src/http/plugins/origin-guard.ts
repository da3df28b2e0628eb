import cors from '@fastify/cors';
import fp from 'fastify-plugin';
import type { Config } from '../../config.js';
import { forbidden } from '../../errors.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** True when a request carries no Origin (not a browser fetch) or one the hub trusts. */
export function isAllowedOrigin(origin: string | undefined, allowed: readonly string[]): boolean {
  return origin === undefined || allowed.includes(origin);
}

/**
 * CSRF defence: the SameSite=Lax cookie is not enough for same-site subdomains or old
 * browsers, so every state-changing request from a foreign Origin is refused outright.
 */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    await app.register(cors, { origin: [...config.ALLOWED_ORIGINS], credentials: true });
    app.addHook('onRequest', async (request) => {
      if (SAFE_METHODS.has(request.method)) return;
      if (!isAllowedOrigin(request.headers.origin, config.ALLOWED_ORIGINS)) {
        throw forbidden('Origin not allowed');
      }
    });
  },
  { name: 'origin-guard' },
);
