import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fp from 'fastify-plugin';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { ERROR_STATUS, type ErrorCode } from '../../errors.js';
import { asyncApiDocument } from '../../schemas/asyncapi.js';

export const ASYNCAPI_PATH = '/docs/asyncapi.json';

interface RouteDoc {
  tag: 'auth' | 'users' | 'conversations' | 'jobs' | 'notices';
  summary: string;
  /** The error codes this route can answer besides `unavailable` (503), which every route can. */
  errors: ErrorCode[];
  /** Needs the session cookie. */
  session: boolean;
}

/**
 * Summaries, tags and error answers of the HTTP API, kept here in one table rather than in
 * every route file; routes the table does not name still appear, under their path.
 * State-changing routes also answer 403 `forbidden` to a foreign Origin.
 */
const ROUTES: Record<string, RouteDoc> = {
  'POST /api/auth/register': { tag: 'auth', session: false, summary: 'Create an account and log in (sets the sessionid cookie)', errors: ['invalid_payload', 'forbidden', 'conflict', 'too_large', 'rate_limited'] },
  'POST /api/auth/login': { tag: 'auth', session: false, summary: 'Log in (sets the sessionid cookie)', errors: ['invalid_payload', 'unauthorized', 'forbidden', 'rate_limited'] },
  'POST /api/auth/logout': { tag: 'auth', session: true, summary: "Revoke this session and disconnect its sockets on every pod", errors: ['unauthorized', 'forbidden'] },
  'POST /api/auth/password': { tag: 'auth', session: true, summary: "Change the password; revokes the user's other sessions and disconnects their sockets", errors: ['invalid_payload', 'unauthorized', 'forbidden', 'rate_limited'] },
  'GET /api/me': { tag: 'auth', session: true, summary: 'The logged-in user', errors: ['unauthorized'] },
  'GET /api/users/lookup': { tag: 'users', session: true, summary: 'Find a user by email (to start a conversation with them)', errors: ['invalid_payload', 'unauthorized', 'not_found', 'rate_limited'] },
  'POST /api/conversations': { tag: 'conversations', session: true, summary: 'Open the conversation of a client and a worker (201), or return the existing one (200)', errors: ['invalid_payload', 'unauthorized', 'forbidden', 'not_found', 'rate_limited'] },
  'GET /api/conversations': { tag: 'conversations', session: true, summary: "The caller's conversations, most recent activity first", errors: ['unauthorized'] },
  'GET /api/conversations/:id/messages': { tag: 'conversations', session: true, summary: 'A page of history: the latest `limit` messages below `before_seq`, in ascending seq', errors: ['invalid_payload', 'unauthorized', 'not_found'] },
  'POST /api/jobs': { tag: 'jobs', session: true, summary: 'Enqueue a job owned by the caller', errors: ['invalid_payload', 'unauthorized', 'forbidden', 'too_large'] },
  'GET /api/jobs': { tag: 'jobs', session: true, summary: "The caller's jobs, newest first", errors: ['invalid_payload', 'unauthorized'] },
  'GET /api/jobs/:id': { tag: 'jobs', session: true, summary: 'One job of the caller', errors: ['unauthorized', 'not_found'] },
  'POST /api/jobs/:id/cancel': { tag: 'jobs', session: true, summary: 'Cancel a job: a waiting one never runs, an active one is aborted', errors: ['unauthorized', 'forbidden', 'not_found', 'conflict'] },
  'GET /api/notices': { tag: 'notices', session: true, summary: "The caller's notices (jobs that ended while none of their sockets watched), newest first", errors: ['invalid_payload', 'unauthorized'] },
  'POST /api/notices/read': { tag: 'notices', session: true, summary: 'Mark the caller\'s notices up to an id read', errors: ['invalid_payload', 'unauthorized', 'forbidden'] },
  'GET /api/jobs/:id/download': { tag: 'jobs', session: true, summary: 'Download a finished conversation.export (JSON lines of messages)', errors: ['unauthorized', 'not_found'] },
};

const errorResponse = (code: ErrorCode) => ({
  description: `\`${code}\``,
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string', enum: [code] }, message: { type: 'string' } },
    },
  },
});

/** Adds the route table's tag, summary, security and error answers to one route's OpenAPI entry. */
const describeRoute: typeof jsonSchemaTransform = (input) => {
  const out = jsonSchemaTransform(input);
  const method = [input.route.method].flat()[0];
  const doc = ROUTES[`${method} ${input.url}`];
  if (!doc) return out;
  const schema = (out.schema ?? {}) as Record<string, unknown> & { response?: Record<string, unknown> };
  const response: Record<string, unknown> = { ...schema.response };
  // Several codes share a status (400: invalid_payload); the first one listed names it.
  for (const code of [...doc.errors, 'unavailable' as const]) response[String(ERROR_STATUS[code])] ??= errorResponse(code);
  return {
    ...out,
    schema: { ...schema, tags: [doc.tag], summary: doc.summary, response, ...(doc.session && { security: [{ session: [] }] }) },
  };
};

/**
 * OpenAPI generated from the same zod route schemas that validate requests, with the UI at
 * /docs, and the AsyncAPI document of the socket protocol beside it. Registered before the
 * routes so it sees them all.
 */
export default fp(
  async (app) => {
    await app.register(swagger, {
      openapi: {
        info: {
          title: 'Inbox hub HTTP API',
          description: [
            'Errors are always `{"error": {"code", "message"}}`; every route may answer 503 `unavailable` when storage is down.',
            'A state-changing request from a browser Origin the hub does not trust answers 403 `forbidden`.',
            `The socket protocol (the \`/inbox\` and \`/chat/<conversation_id>\` namespaces) is described by the [AsyncAPI document](${ASYNCAPI_PATH}).`,
          ].join('\n\n'),
          version: '1.0.0',
        },
        externalDocs: { description: 'AsyncAPI document of the socket protocol', url: ASYNCAPI_PATH },
        tags: [
          { name: 'auth', description: 'Accounts and sessions (the sessionid cookie)' },
          { name: 'users', description: 'Finding other users' },
          { name: 'conversations', description: 'Conversations and their history' },
          { name: 'jobs', description: 'Background jobs of the caller' },
          { name: 'notices', description: 'Jobs of the caller that ended while none of their sockets watched' },
        ],
        components: { securitySchemes: { session: { type: 'apiKey', in: 'cookie', name: 'sessionid' } } },
      },
      transform: describeRoute,
    });
    await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });

    const asyncapi = JSON.stringify(asyncApiDocument());
    app.get(ASYNCAPI_PATH, { schema: { hide: true } }, async (_request, reply) => reply.type('application/json; charset=utf-8').send(asyncapi));
  },
  { name: 'docs' },
);
