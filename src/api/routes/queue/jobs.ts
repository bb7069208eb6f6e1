import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { JobView } from '../../../workflows/job.messages';
import { noJobAvailable, notFound } from '../../errors';
import type { JobResponse } from '../../params';
import { consumeQueues, errorResponse, jobParams, jobResponse, pausedResponse, queueParams, querySchemas, sizeResponse } from '../../params';

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

/** Jobs and queues under /api/:namespace/:queue: consume, ack, peek, size, destroy. */
export const jobRoutes: FastifyPluginAsync = async (fastify) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { jobs, config, metrics } = app.ferry;
  const query = querySchemas(config);

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

  app.get(
    '/api/:namespace/:queue/size',
    { schema: { params: queueParams, response: { 200: sizeResponse } }, config: { access: 'none' } },
    async (request) => {
      const { namespace, queue } = request.params;
      const { size, paused } = await jobs.stats(namespace, queue, 0);
      return { namespace, queue, size, ...(paused ? { paused } : {}) };
    },
  );

  // Beyond lmstfy: BullMQ's pause() and resume(), per queue and kept by its index across restarts.
  for (const [action, paused] of [
    ['pause', true],
    ['resume', false],
  ] as const) {
    app.post(
      `/api/:namespace/:queue/${action}`,
      {
        schema: {
          summary: paused ? 'Pause consuming: consumes find no job, long polls wait, publishes are taken' : 'Resume consuming; waiting long polls wake',
          params: queueParams,
          response: { 200: pausedResponse },
        },
        config: { access: 'token' },
      },
      async (request) => {
        const { namespace, queue } = request.params;
        return { namespace, queue, paused: await jobs.setPaused(namespace, queue, paused) };
      },
    );
  }

  app.delete('/api/:namespace/:queue', { schema: { params: queueParams } }, async (request, reply) => {
    await jobs.destroy(request.params.namespace, request.params.queue);
    return reply.status(204).send();
  });

};
