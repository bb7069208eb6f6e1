import { z } from 'zod';
import { OVERLAP_POLICIES } from '../temporal/job-schedules';
import { queueName, UINT32_MAX } from './params';
import { namespaceParams } from './push-schemas';

/** Whether this process's time zone database knows `name` (the server checks it again). */
function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

export const scheduleName = z.string().regex(/^[-_.A-Za-z0-9]{1,64}$/, 'schedule names are 1-64 of A-Z a-z 0-9 - _ .');
export const scheduleParams = namespaceParams.extend({ name: scheduleName });

/** The job each run publishes, with the bounds and defaults of a publish (`PUT /api/:ns/:queue`). */
const scheduledJob = z
  .object({
    body: z.string().optional().describe('the job body as UTF-8 text'),
    bodyBase64: z.base64().optional().describe('or the job body as base64, for bytes'),
    ttl: z.number().int().min(0).max(UINT32_MAX).default(86400).describe('seconds; 0 = never expires'),
    tries: z.number().int().min(1).max(65535).default(1),
    delay: z.number().int().min(0).max(UINT32_MAX).default(0).describe('seconds after the run before the job is ready'),
  })
  .refine((j) => j.body === undefined || j.bodyBase64 === undefined, 'give body or bodyBase64, not both')
  .refine((j) => !(j.ttl > 0 && j.ttl < j.delay), 'ttl is shorter than delay');

export const scheduleBody = z
  .object({
    name: scheduleName,
    queue: queueName,
    cron: z
      .string()
      .min(1)
      .max(256)
      .optional()
      .describe('when to run: a cron expression (minute hour day-of-month month day-of-week, e.g. "0 3 * * 1-5"); or everySeconds'),
    everySeconds: z.number().int().min(1).max(UINT32_MAX).optional().describe('or: run every this many seconds'),
    timezone: z.string().max(64).refine(isTimeZone, 'unknown time zone (an IANA name such as Europe/Berlin, or UTC)').default('UTC'),
    overlap: z.enum(OVERLAP_POLICIES).default('skip').describe('what a run due while the last one still publishes does (Temporal overlap policy)'),
    catchupWindowSeconds: z
      .number()
      .int()
      .min(10)
      .max(365 * 86400)
      .default(60)
      .describe('after an outage, runs missed within this window are taken late; older ones are skipped'),
    paused: z.boolean().default(false),
    note: z.string().max(1024).default(''),
    job: scheduledJob,
  })
  .refine((s) => (s.cron === undefined) !== (s.everySeconds === undefined), 'give cron or everySeconds, one of them');

export const scheduleNoteBody = z.object({ note: z.string().max(1024).default('') }).default({ note: '' });

export const scheduleView = z.object({
  name: z.string(),
  queue: z.string(),
  cron: z.string().optional(),
  everySeconds: z.number().int().optional(),
  timezone: z.string(),
  overlap: z.enum(OVERLAP_POLICIES),
  catchupWindowSeconds: z.number().int(),
  paused: z.boolean(),
  note: z.string(),
  job: z.object({ bodyBase64: z.string(), ttl: z.number().int(), tries: z.number().int(), delay: z.number().int() }),
  createdAt: z.string(),
  runs: z.number().int().describe('runs taken so far'),
  nextRuns: z.array(z.string()).describe('the next run times, soonest first'),
  recentRuns: z
    .array(z.object({ scheduledAt: z.string(), startedAt: z.string(), jobId: z.string() }))
    .describe('the latest runs and the job each published'),
});
export const scheduleListView = z.object({ schedules: z.array(scheduleView) });
