import cors from '@fastify/cors';
import type { FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../../config.js';
import { forbidden } from '../../errors.js';
import { isAllowedOrigin, logRefusedOrigin, originPolicy, type OriginPolicy } from '../../origin.js';
import { SESSION_COOKIE } from './session.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const SESSION_COOKIE_PRESENT = new RegExp(`(?:^|;)\\s*${SESSION_COOKIE}=`);

/**
 * Whether a state-changing request may act with whatever cookie it carries:
 * - with an `Origin`, only an allowed one;
 * - without one but with the session cookie (an old browser, or a form post that dropped it),
 *   only when the browser says it came from the page itself (`Sec-Fetch-Site: same-origin`,
 *   or `none` for a user's own navigation) or its `Referer` is an allowed origin;
 * - without either, it is a non-browser client acting on its own behalf: allowed.
 */
function mayChangeState(headers: FastifyRequest['headers'], policy: OriginPolicy): boolean {
  if (headers.origin !== undefined) return isAllowedOrigin(headers.origin, headers.host, policy);
  if (!SESSION_COOKIE_PRESENT.test(headers.cookie ?? '')) return true;
  const site = headers['sec-fetch-site'];
  if (site === 'same-origin' || site === 'none') return true;
  const referer = refererOrigin(headers.referer);
  return referer !== null && isAllowedOrigin(referer, headers.host, policy);
}

/** Why a state-changing request was refused, in words an operator can act on. */
export function originRefusal(origin: string | undefined): string {
  return origin === undefined
    ? 'Origin not allowed: a request with the session cookie and no Origin must come from an allowed page (Sec-Fetch-Site or Referer)'
    : `Origin not allowed: ${origin} is not in ALLOWED_ORIGINS`;
}

function refererOrigin(referer: string | undefined): string | null {
  if (!referer) return null;
  try {
    return new URL(referer).origin;
  } catch {
    return null;
  }
}

/**
 * CSRF defence: the SameSite=Lax cookie is not enough for same-site subdomains or old
 * browsers, so every state-changing request from a foreign Origin is refused outright.
 * Answered here rather than thrown: encapsulated routes (Bull Board) have error handlers of
 * their own that would turn a thrown 403 into a 500.
 */
export default fp<{ config: Config }>(
  async (app, { config }) => {
    const policy = originPolicy(config);
    await app.register(cors, { origin: [...config.ALLOWED_ORIGINS], credentials: true });
    app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
      if (SAFE_METHODS.has(request.method)) return;
      if (mayChangeState(request.headers, policy)) return;
      const { origin } = request.headers;
      const where = `${request.method} ${request.routeOptions.url ?? 'unknown route'}`;
      if (origin !== undefined) logRefusedOrigin(request.log, origin, where);
      else request.log.warn({ where, referer: request.headers.referer !== undefined }, `no Origin and no same-origin evidence: refused (${where})`);
      return reply.status(403).send({ error: forbidden(originRefusal(origin)).toBody() });
    });
  },
  { name: 'origin-guard' },
);
