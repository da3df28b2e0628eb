import type { FastifyBaseLogger } from 'fastify';
import type { Config } from './config.js';

/**
 * Which browser origins the hub trusts, for the HTTP origin guard (src/http/plugins/origin-guard.ts)
 * and the socket handshake (src/realtime/handshake.ts) alike. Outside production it also trusts
 * its own origin (an Origin naming the very host the request was sent to), so
 * `PORT=3000 npm run dev`, or the page opened by the machine's network address, works without
 * listing it in ALLOWED_ORIGINS. Production trusts ALLOWED_ORIGINS only.
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
