import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { JobScheduleView } from '../../temporal/job-schedules';
import { payloadTooLarge } from '../errors';
import { errorResponse } from '../params';
import { namespaceParams } from '../push-schemas';
import { scheduleBody, scheduleListView, scheduleNoteBody, scheduleParams, scheduleView } from '../schedule-schemas';
import { guardNamespace } from './namespace-guard';
import { iso } from './push/views';

const tags = ['schedules'];

const viewOf = (s: JobScheduleView): z.infer<typeof scheduleView> => ({
  name: s.name,
  queue: s.queue,
  cron: s.cron,
  everySeconds: s.everySeconds,
  timezone: s.timezone,
  overlap: s.overlap,
  catchupWindowSeconds: s.catchupWindowSeconds,
  paused: s.paused,
  note: s.note,
  job: { bodyBase64: s.job.data, ttl: s.job.ttl, tries: s.job.tries, delay: s.job.delay },
  createdAt: iso(s.createdAt),
  runs: s.runs,
  nextRuns: s.nextRuns.map(iso),
  recentRuns: s.recentRuns.map((r) => ({ scheduledAt: iso(r.scheduledAt), startedAt: iso(r.startedAt), jobId: r.jobId })),
});

/**
 * Recurring jobs under /schedules/:namespace (BullMQ's repeatable jobs), on Temporal Schedules:
 * each run publishes an ordinary job to the schedule's queue.
 */
export const scheduleRoutes: FastifyPluginAsync = async (fastify) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  guardNamespace(app, 'schedule');
  const { schedules, config } = app.ferry;

  app.post(
    '/schedules/:namespace',
    {
      schema: {
        tags,
        summary: 'Create a schedule that publishes a job by cron expression or interval',
        params: namespaceParams,
        body: scheduleBody,
        response: { 201: scheduleView, 400: errorResponse, 409: errorResponse, 413: errorResponse },
      },
    },
    async (request, reply) => {
      const { namespace } = request.params;
      const { job, paused, note, ...timing } = request.body;
      const body = job.bodyBase64 !== undefined ? Buffer.from(job.bodyBase64, 'base64') : Buffer.from(job.body ?? '', 'utf8');
      if (body.length > config.FERRY_MAX_JOB_BYTES) throw payloadTooLarge('body too large');
      const created = await schedules.create(
        namespace,
        { ...timing, job: { data: body.toString('base64'), ttl: job.ttl, tries: job.tries, delay: job.delay } },
        { paused, note },
      );
      return reply.status(201).send(viewOf(created));
    },
  );

  app.get(
    '/schedules/:namespace',
    { schema: { tags, summary: 'List the schedules of a namespace', params: namespaceParams, response: { 200: scheduleListView } } },
    async (request) => ({ schedules: (await schedules.list(request.params.namespace)).map(viewOf) }),
  );

  app.get(
    '/schedules/:namespace/:name',
    { schema: { tags, summary: 'A schedule, its next runs and its recent runs with their jobs', params: scheduleParams, response: { 200: scheduleView, 404: errorResponse } } },
    async (request) => viewOf(await schedules.get(request.params.namespace, request.params.name)),
  );

  app.post(
    '/schedules/:namespace/:name/pause',
    { schema: { tags, summary: 'Pause: no runs until unpaused', params: scheduleParams, body: scheduleNoteBody, response: { 200: scheduleView, 404: errorResponse } } },
    async (request) => viewOf(await schedules.pause(request.params.namespace, request.params.name, request.body.note)),
  );

  app.post(
    '/schedules/:namespace/:name/unpause',
    { schema: { tags, summary: 'Unpause', params: scheduleParams, body: scheduleNoteBody, response: { 200: scheduleView, 404: errorResponse } } },
    async (request) => viewOf(await schedules.unpause(request.params.namespace, request.params.name, request.body.note)),
  );

  app.post(
    '/schedules/:namespace/:name/trigger',
    { schema: { tags, summary: 'Run once now, besides the schedule’s times', params: scheduleParams, response: { 202: z.object({ msg: z.literal('triggered') }), 404: errorResponse } } },
    async (request, reply) => {
      await schedules.trigger(request.params.namespace, request.params.name);
      return reply.status(202).send({ msg: 'triggered' as const });
    },
  );

  app.delete(
    '/schedules/:namespace/:name',
    { schema: { tags, summary: 'Delete the schedule (jobs it published stay)', params: scheduleParams, response: { 204: z.null(), 404: errorResponse } } },
    async (request, reply) => {
      await schedules.delete(request.params.namespace, request.params.name);
      return reply.status(204).send(null);
    },
  );
};
