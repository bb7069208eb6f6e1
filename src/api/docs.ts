import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { version } from '../../package.json';

type SecuritySchemes = Record<string, { type: 'apiKey'; in: 'header'; name: string } | { type: 'http'; scheme: 'basic' | 'bearer' }>;

/**
 * The OpenAPI document of an app's routes, produced from their zod schemas, at /openapi.json, and
 * Swagger UI over it at /docs. Register before the routes: the document lists what is registered
 * after it.
 */
export async function registerDocs(app: FastifyInstance, title: string, securitySchemes: SecuritySchemes): Promise<void> {
  await app.register(swagger, {
    openapi: {
      info: { title, version },
      components: { securitySchemes },
      security: Object.keys(securitySchemes).map((name) => ({ [name]: [] })),
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
