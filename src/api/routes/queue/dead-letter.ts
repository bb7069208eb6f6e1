import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { queueParams, querySchemas, sizeResponse } from '../../params';

/** A queue's dead letter under /api/:namespace/:queue/deadletter: show, size, respawn, delete. */
export const deadLetterRoutes: FastifyPluginAsync = async (fastify) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { jobs, config } = app.ferry;
  const query = querySchemas(config);

  app.get(
    '/api/:namespace/:queue/deadletter',
    {
      schema: {
        params: queueParams,
        response: {
          200: z.object({ namespace: z.string(), queue: z.string(), deadletter_size: z.number().int(), deadletter_head: z.string() }),
        },
      },
    },
    async (request) => {
      const { namespace, queue } = request.params;
      const { size, head } = await jobs.deadLetter(namespace, queue);
      return { namespace, queue, deadletter_size: size, deadletter_head: head[0] ?? '' };
    },
  );

  app.get(
    '/api/:namespace/:queue/deadletter/size',
    { schema: { params: queueParams, response: { 200: sizeResponse } }, config: { access: 'none' } },
    async (request) => {
      const { namespace, queue } = request.params;
      return { namespace, queue, size: (await jobs.deadLetter(namespace, queue)).size };
    },
  );

  app.put(
    '/api/:namespace/:queue/deadletter',
    {
      schema: {
        params: queueParams,
        querystring: query.respawn,
        response: { 200: z.object({ msg: z.literal('respawned'), count: z.number().int() }) },
      },
    },
    async (request) => {
      const { namespace, queue } = request.params;
      const count = await jobs.respawn(namespace, queue, request.query.limit, request.query.ttl);
      return { msg: 'respawned' as const, count };
    },
  );

  app.delete(
    '/api/:namespace/:queue/deadletter',
    { schema: { params: queueParams, querystring: query.deleteDead } },
    async (request, reply) => {
      await jobs.deleteDead(request.params.namespace, request.params.queue, request.query.limit);
      return reply.status(204).send();
    },
  );
};
