import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { badRequest, payloadTooLarge } from '../../errors';
import { splitJsonArray } from '../../json-array';
import { errorResponse, jobParams, queueParams, querySchemas } from '../../params';

const MAX_ATTRIBUTES = 16;
const MAX_BULK_JOBS = 64;

/** Job-Attr-* headers, as lmstfy reads them: only with Enable-Job-Version: YES. */
function jobAttributes(request: FastifyRequest): Record<string, string> | undefined {
  if (String(request.headers['enable-job-version'] ?? '').toUpperCase() !== 'YES') return undefined;
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (!name.startsWith('job-attr-')) continue;
    const first = Array.isArray(value) ? value[0] : value;
    if (!first) continue;
    const key = Buffer.from(name.slice('job-attr-'.length)).subarray(0, 32).toString().toLowerCase();
    attributes[key] = Buffer.from(first).subarray(0, 128).toString();
  }
  if (Object.keys(attributes).length > MAX_ATTRIBUTES) throw badRequest('too many attributes, cannot exceed 16');
  return Object.keys(attributes).length > 0 ? attributes : undefined;
}

const idempotencyKey = (request: FastifyRequest): string | undefined => {
  const key = request.headers['idempotency-key'];
  return typeof key === 'string' && key.length > 0 ? key : undefined;
};

/** Publishing under /api/:namespace/:queue: one job, a bulk of them, or a job put in another's place. */
export const publishRoutes: FastifyPluginAsync = async (fastify) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { jobs, config, metrics } = app.ferry;
  const query = querySchemas(config);
  const maxJob = config.FERRY_MAX_JOB_BYTES;

  const published = z.object({ msg: z.literal('published'), job_id: z.string() });
  const publishRoute = {
    schema: { params: queueParams, querystring: query.publish, response: { 201: published, 400: errorResponse } },
    config: { access: 'write' as const },
  };

  app.put('/api/:namespace/:queue', { ...publishRoute, bodyLimit: maxJob }, async (request, reply) => {
    const { namespace, queue } = request.params;
    const body = (request.body as Buffer | undefined) ?? Buffer.alloc(0);
    const { jobIds, replayed } = await jobs.publish({
      namespace,
      queue,
      bodies: [body],
      ...request.query,
      attributes: jobAttributes(request),
      idempotencyKey: idempotencyKey(request),
    });
    if (replayed) void reply.header('Idempotent-Replayed', 'true');
    else metrics.published(namespace, queue, 1);
    return reply.status(201).send({ msg: 'published', job_id: jobIds[0]! });
  });

  app.put(
    '/api/:namespace/:queue/job/:job_id',
    {
      schema: { params: jobParams, querystring: query.publish, response: { 201: published, 400: errorResponse } },
      config: { access: 'token' },
      bodyLimit: maxJob,
    },
    async (request, reply) => {
      const { namespace, queue, job_id } = request.params;
      const body = (request.body as Buffer | undefined) ?? Buffer.alloc(0);
      // Unlike lmstfy, the old job is deleted only once the new one is durable: a republish refused
      // by validation, the publish gate or Temporal leaves the old job as it was.
      const attributes = jobAttributes(request);
      const { jobIds } = await jobs.publish({ namespace, queue, bodies: [body], ...request.query, attributes });
      await jobs.delete(namespace, queue, job_id);
      metrics.published(namespace, queue, 1);
      return reply.status(201).send({ msg: 'published', job_id: jobIds[0]! });
    },
  );

  app.put(
    '/api/:namespace/:queue/bulk',
    {
      schema: {
        params: queueParams,
        querystring: query.publish,
        response: { 201: z.object({ msg: z.literal('published'), job_ids: z.array(z.string()) }), 400: errorResponse },
      },
      config: { access: 'write' },
      bodyLimit: MAX_BULK_JOBS * (maxJob + 1024),
    },
    async (request, reply) => {
      const { namespace, queue } = request.params;
      const elements = splitJsonArray((request.body as Buffer | undefined) ?? Buffer.alloc(0));
      if (elements === undefined) throw badRequest('request body should be an array of objects');
      if (elements.length === 0) throw badRequest('no jobs');
      if (elements.length > MAX_BULK_JOBS) throw badRequest('too many jobs');
      if (elements.some((e) => e.length > maxJob)) throw payloadTooLarge('job too large');
      const { jobIds, replayed } = await jobs.publish({
        namespace,
        queue,
        bodies: elements,
        ...request.query,
        attributes: jobAttributes(request),
        idempotencyKey: idempotencyKey(request),
      });
      if (replayed) void reply.header('Idempotent-Replayed', 'true');
      else metrics.published(namespace, queue, jobIds.length);
      return reply.status(201).send({ msg: 'published', job_ids: jobIds });
    },
  );

};
