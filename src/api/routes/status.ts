import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { version } from '../../../package.json';
import { readBuildInfo } from '../../build-info';

const tags = ['status'];
const queueSize = z.object({
  namespace: z.string(),
  queue: z.string(),
  ready: z.number().int(),
  dead: z.number().int(),
  oldestReadyAgeSeconds: z.number().describe('how long the oldest ready job has waited; 0 when none is ready'),
  paused: z.boolean(),
});
const endpointSize = z.object({
  namespace: z.string(),
  endpoint: z.string(),
  dead: z.number().int().describe('deliveries in the dead letter, held ones included'),
  held: z.number().int().describe('deliveries held for a disabled endpoint'),
});
const statusView = z.object({
  version: z.string(),
  temporal: z.object({ reachable: z.boolean(), error: z.string().optional() }),
  taskQueues: z
    .array(
      z.object({
        taskQueue: z.string(),
        kind: z.enum(['workflow', 'activity']),
        pollers: z.array(z.object({ identity: z.string(), lastAccessTime: z.string().nullable() })),
      }),
    )
    .describe('who polls Ferry\'s task queues; Temporal lists a poller for a few minutes after its last poll'),
  queues: z.array(queueSize),
  push: z.array(endpointSize),
});
export type StatusView = z.infer<typeof statusView>;

/**
 * What is running and what needs attention, on the admin port: health and readiness probes, the
 * version, Prometheus metrics, and `/status` (Temporal, the workers polling, queue and push
 * dead-letter sizes), which `ferry status` prints. `/status` names queues and endpoints, so the
 * admin accounts guard it as they guard tokens.
 */
export const statusRoutes: FastifyPluginAsync<{ guard: object }> = async (fastify, { guard }) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { jobs, metrics, endpoints, pushDeadLetters, pollers } = app.ferry;

  const build = readBuildInfo();
  app.get(
    '/version',
    { schema: { tags, response: { 200: z.object({ version: z.string(), build_commit: z.string(), build_date: z.string() }) } } },
    async () => ({ version, build_commit: build.commit, build_date: build.date }),
  );
  app.get('/metrics', { schema: { tags, summary: 'Prometheus metrics of this API process' } }, async (_request, reply) =>
    reply.header('Content-Type', metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
  app.get('/health', { schema: { tags, summary: 'The process answers', response: { 200: z.object({ status: z.literal('ok') }) } } }, async () => ({
    status: 'ok' as const,
  }));
  app.get(
    '/ready',
    { schema: { tags, summary: 'Temporal can be reached', response: { 200: z.object({ status: z.string() }), 503: z.object({ status: z.string() }) } } },
    async (_request, reply) => {
      try {
        await jobs.ping();
        return { status: 'ready' };
      } catch {
        return reply.status(503).send({ status: 'temporal unavailable' });
      }
    },
  );

  app.get('/status', { ...guard, schema: { tags, summary: 'What runs and what needs attention', response: { 200: statusView } } }, async () => {
    try {
      await jobs.ping();
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      return { version, temporal: { reachable: false, error }, taskQueues: [], queues: [], push: [] };
    }
    const [taskQueues, queues, push] = await Promise.all([pollers(), jobs.sizes(), pushDeadLetters.sizes(endpoints.all())]);
    return { version, temporal: { reachable: true }, taskQueues, queues, push };
  });
};
