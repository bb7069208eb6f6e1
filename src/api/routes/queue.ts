import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { JobView } from '../../workflows/job.messages';
import type { TokenRecord } from '../../workflows/tokens.messages';
import { splitJsonArray } from '../json-array';
import {
  badRequest,
  noJobAvailable,
  notFound,
  payloadTooLarge,
  tooManyRequests,
  unauthorized,
} from '../errors';
import type { JobResponse } from '../params';
import { consumeQueues, errorResponse, jobParams, jobResponse, nameProblem, queueListProblem, queueParams, querySchemas } from '../params';

declare module 'fastify' {
  interface FastifyRequest {
    /** The token whose rate limit this request was counted against. */
    charged?: TokenRecord;
  }
  interface FastifyContextConfig {
    /** What the route charges against a token's rate limit; 'none' skips the token check too. */
    access?: 'read' | 'write' | 'token' | 'none';
    /** Consume takes a comma-separated list of queues. */
    queueList?: boolean;
  }
}

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

const toResponse = (job: JobView, msg?: 'new job', now = Date.now()): JobResponse => ({
  ...(msg ? { msg } : {}),
  namespace: job.namespace,
  queue: job.queue,
  job_id: job.jobId,
  data: job.data,
  ttl: job.expiresAt === null ? 0 : Math.max(0, Math.ceil((job.expiresAt - now) / 1000)),
  elapsed_ms: Math.max(0, now - job.publishedAt),
  remain_tries: job.remainTries,
  attributes: job.attributes ?? null,
});

const idempotencyKey = (request: FastifyRequest): string | undefined => {
  const key = request.headers['idempotency-key'];
  return typeof key === 'string' && key.length > 0 ? key : undefined;
};

/** The lmstfy queue API under /api. */
export const queueRoutes: FastifyPluginAsync = async (fastify) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { jobs, tokens, limiter, config, metrics } = app.ferry;
  const query = querySchemas(config);
  const maxJob = config.FERRY_MAX_JOB_BYTES;
  app.decorateRequest('charged', undefined);

  // Names first, then the token, in lmstfy's order; before the body is read or the query validated,
  // so a request without a valid token costs no body parsing.
  app.addHook('onRequest', async (request) => {
    const { namespace, queue } = request.params as { namespace: string; queue: string };
    const problem = request.routeOptions.config.queueList
      ? queueListProblem(namespace, queue)
      : nameProblem(namespace, queue);
    if (problem) throw badRequest(problem);
    const access = request.routeOptions.config.access ?? 'token';
    if (access === 'none') return;
    const header = request.headers['x-token'];
    const fromQuery = (request.query as { token?: unknown }).token;
    const raw = typeof header === 'string' && header !== '' ? header : typeof fromQuery === 'string' ? fromQuery : undefined;
    const check = await tokens.verify(namespace, raw);
    if (!check.ok) throw check.error === 'pool not found' ? notFound(check.error) : unauthorized(check.error);
    if (access === 'token') return;
    if (!limiter.acquire(check.record, access)) {
      const verb = access === 'read' ? 'consume' : 'produce';
      throw tooManyRequests(`token(${check.record.id}) ${verb} reach the limit rate, please retry later`);
    }
    request.charged = check.record;
  });

  // Only successful calls count against the limit, as in lmstfy.
  app.addHook('onResponse', async (request, reply) => {
    const access = request.routeOptions.config.access;
    if (!request.charged || (access !== 'read' && access !== 'write')) return;
    if (reply.statusCode !== (access === 'read' ? 200 : 201)) limiter.refund(request.charged, access);
  });

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

  app.get(
    '/api/:namespace/:queue',
    {
      schema: {
        params: z.object({ namespace: z.string(), queue: z.string().describe('one queue, or several separated by commas, in priority order') }),
        querystring: query.consume,
        response: { 200: z.union([jobResponse, z.array(jobResponse)]) },
      },
      config: { access: 'read', queueList: true },
    },
    async (request) => {
      const { namespace } = request.params;
      const queues = consumeQueues(request.params.queue);
      const { ttr, timeout, count, freeze_tries } = request.query;
      const aborted = new AbortController();
      request.raw.once('close', () => aborted.abort());
      const done = metrics.consuming(namespace, queues);
      let taken: JobView[];
      try {
        taken = await jobs.consume({ namespace, queues, ttr, timeout, count, freezeTries: freeze_tries, signal: aborted.signal });
      } finally {
        done();
      }
      if (taken.length === 0) throw noJobAvailable();
      for (const job of taken) metrics.consumed(namespace, job.queue);
      // lmstfy answers an array whenever count > 1, even with one job; its clients parse it that way.
      return count > 1 ? taken.map((j) => toResponse(j, 'new job')) : toResponse(taken[0]!, 'new job');
    },
  );

  app.delete('/api/:namespace/:queue/job/:job_id', { schema: { params: jobParams } }, async (request, reply) => {
    const { namespace, queue, job_id } = request.params;
    await jobs.delete(namespace, queue, job_id);
    metrics.acked(namespace, queue);
    return reply.status(204).send();
  });

  app.get(
    '/api/:namespace/:queue/peek',
    { schema: { params: queueParams, response: { 200: jobResponse, 404: errorResponse } } },
    async (request) => {
      const job = await jobs.peekQueue(request.params.namespace, request.params.queue);
      if (!job) throw notFound('job not found');
      return toResponse(job);
    },
  );

  app.get(
    '/api/:namespace/:queue/job/:job_id',
    { schema: { params: jobParams, response: { 200: jobResponse, 404: errorResponse } } },
    async (request) => {
      const { namespace, queue, job_id } = request.params;
      const job = await jobs.peekJob(namespace, queue, job_id);
      if (!job) throw notFound('job not found');
      return toResponse(job);
    },
  );

  const sizeResponse = z.object({ namespace: z.string(), queue: z.string(), size: z.number().int() });
  app.get(
    '/api/:namespace/:queue/size',
    { schema: { params: queueParams, response: { 200: sizeResponse } }, config: { access: 'none' } },
    async (request) => {
      const { namespace, queue } = request.params;
      return { namespace, queue, size: await jobs.size(namespace, queue) };
    },
  );

  app.delete('/api/:namespace/:queue', { schema: { params: queueParams } }, async (request, reply) => {
    await jobs.destroy(request.params.namespace, request.params.queue);
    return reply.status(204).send();
  });

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
