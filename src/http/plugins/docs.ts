import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fp from 'fastify-plugin';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';

/**
 * OpenAPI generated from the same zod route schemas that validate requests, with the
 * UI at /docs. Registered before the routes so it sees them all.
 */
export default fp(
  async (app) => {
    await app.register(swagger, {
      openapi: {
        info: {
          title: 'Inbox hub HTTP API',
          description: 'See CONTRACT.md for the socket protocol. Errors are always {"error": {"code", "message"}}.',
          version: '1.0.0',
        },
        components: { securitySchemes: { session: { type: 'apiKey', in: 'cookie', name: 'sessionid' } } },
      },
      transform: jsonSchemaTransform,
    });
    await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  },
  { name: 'docs' },
);
