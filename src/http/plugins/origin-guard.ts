import cors from '@fastify/cors';
import type { FastifyBaseLogger } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../../config.js';
import { forbidden } from '../../errors.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Which browser origins the hub trusts. Outside production it also trusts its own origin
 * (an Origin naming the very host the request was sent to), so `PORT=3000 npm run dev`, or
 * the page opened by the machine's network address, works without listing it in
 * ALLOWED_ORIGINS. Production trusts ALLOWED_ORIGINS only.
 */
export interface OriginPolicy {
  allowed: readonly string[];
  ownOrigin: boolean;
}

export function originPolicy(config: Pick<Config, 'ALLOWED_ORIGINS' | 'NODE_ENV'>): OriginPolicy {
  return { allowed: config.ALLOWED_ORIGINS, ownOrigin: config.NODE_ENV !== 'production' };
}

/**
 * True when a request carries no Origin (not a browser fetch) or one the hub trusts.
 * `host` is the request's Host header.
 */
export function isAllowedOrigin(origin: string | undefined, host: string | undefined, policy: OriginPolicy): boolean {
  if (origin === undefined || policy.allowed.includes(origin)) return true;
  return policy.ownOrigin && host !== undefined && hostOf(origin) === host.toLowerCase();
}

/** One warning per refusal, naming the origin, so "403" in a log says what to change. */
export function logRefusedOrigin(log: FastifyBaseLogger, origin: string, where: string): void {
  log.warn({ origin, where }, `origin ${origin} is not in ALLOWED_ORIGINS: refused (${where})`);
}

function hostOf(origin: string): string | null {
  try {
    return new URL(origin).host;
  } catch {
    return null; // "null" and other opaque origins
  }
}

/**
 * CSRF defence: the SameSite=Lax cookie is not enough for same-site subdomains or old
 * browsers, so every state-changing request from a foreign Origin is refused outright.
 */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    const policy = originPolicy(config);
    await app.register(cors, { origin: [...config.ALLOWED_ORIGINS], credentials: true });
    app.addHook('onRequest', async (request) => {
      if (SAFE_METHODS.has(request.method)) return;
      const { origin, host } = request.headers;
      if (!isAllowedOrigin(origin, host, policy)) {
        logRefusedOrigin(request.log, origin!, `${request.method} ${request.routeOptions.url ?? 'unknown route'}`);
        throw forbidden(`Origin not allowed: ${origin} is not in ALLOWED_ORIGINS`);
      }
    });
  },
  { name: 'origin-guard' },
);
