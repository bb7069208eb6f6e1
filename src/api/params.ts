import { z } from 'zod';
import type { Config } from '../config';

/** lmstfy's bound on every time in seconds (ttl, delay, ttr) and on a schedule's interval. */
export const UINT32_MAX = 2 ** 32 - 1;
const NAME = /^[-_A-Za-z0-9]+$/;
const QUEUE_LIST = /^[-_,A-Za-z0-9]+$/;
export const MAX_NAME_LENGTH = 255;

/**
 * A query parameter as lmstfy parses it: absent means the default, anything else must be a whole
 * number in range (an empty `?ttl=` is an error, not the default). Repeated parameters use the first.
 */
const uintParam = (name: string, fallback: number, max = UINT32_MAX, min = 0) =>
  z
    .union([z.string(), z.array(z.string())])
    .optional()
    .transform((value, ctx) => {
      const raw = Array.isArray(value) ? value[0] : value;
      if (raw === undefined) return fallback;
      const n = /^\d{1,10}$/.test(raw) ? Number(raw) : NaN;
      if (!(n >= min && n <= max)) {
        ctx.addIssue({ code: 'custom', message: `invalid ${name}` });
        return z.NEVER;
      }
      return n;
    })
    .meta({ type: 'integer', description: `${name}; default ${fallback}` });

/** The reason a namespace/queue pair is rejected, in lmstfy's words and order, or undefined. */
export function nameProblem(namespace: string, queue: string): string | undefined {
  if (namespace.length > MAX_NAME_LENGTH || queue.length > MAX_NAME_LENGTH) return 'namespace or queue name too long';
  if (!NAME.test(namespace)) return 'namespace name contains forbidden characters';
  if (queue.startsWith('_') || !NAME.test(queue)) return 'queue name contains forbidden characters';
  return undefined;
}

/**
 * One consume waits on every queue it names (each gets a queue workflow and a metric series), so a
 * list is bounded; lmstfy's own clients name a handful, in priority order.
 */
export const MAX_CONSUME_QUEUES = 16;

/** The queues of a consume's comma-separated list, in priority order; empty items and repeats are skipped. */
export const consumeQueues = (list: string): string[] => [...new Set(list.split(',').filter(Boolean))];

export function queueListProblem(namespace: string, queues: string): string | undefined {
  if (!NAME.test(namespace)) return 'namespace name contains forbidden characters';
  if (!QUEUE_LIST.test(queues)) return 'queue name contains forbidden characters';
  const names = consumeQueues(queues);
  if (names.length === 0) return 'invalid queue name(s)';
  if (names.length > MAX_CONSUME_QUEUES) return `too many queues, cannot exceed ${MAX_CONSUME_QUEUES}`;
  return names.map((q) => nameProblem(namespace, q)).find((p) => p !== undefined);
}

export const queueParams = z.object({ namespace: z.string(), queue: z.string() });
/** A queue named in a body (a schedule's, a subscription's), by the rules of `nameProblem`. */
export const queueName = z
  .string()
  .max(MAX_NAME_LENGTH)
  .regex(/^[-A-Za-z0-9][-_A-Za-z0-9]*$/, 'queue name contains forbidden characters');
export const jobParams = queueParams.extend({ job_id: z.string() });

/** Query schemas whose defaults come from the configuration. */
export function querySchemas(config: Config) {
  const publish = z
    .object({
      delay: uintParam('delay', config.FERRY_DEFAULT_DELAY),
      ttl: uintParam('ttl', config.FERRY_DEFAULT_TTL),
      tries: uintParam('tries', config.FERRY_DEFAULT_TRIES, 65535),
    })
    .superRefine((q, ctx) => {
      if (q.ttl > 0 && q.ttl < q.delay) ctx.addIssue({ code: 'custom', message: 'ttl is shorter than delay' });
      else if (q.tries === 0) ctx.addIssue({ code: 'custom', message: "tries shouldn't be zero" });
    });
  const consume = z.object({
    ttr: uintParam('ttr', config.FERRY_DEFAULT_TTR),
    timeout: uintParam('timeout', config.FERRY_DEFAULT_TIMEOUT),
    count: uintParam('count', 1, 100, 1),
    freeze_tries: z
      .enum(['true', 'false', '1', '0', 'TRUE', 'FALSE', 'True', 'False', 't', 'f', 'T', 'F'])
      .optional()
      .transform((v) => v !== undefined && ['true', '1', 'TRUE', 'True', 't', 'T'].includes(v)),
  });
  const respawn = z.object({
    limit: uintParam('limit', 1, Number.MAX_SAFE_INTEGER, 1),
    ttl: uintParam('ttl', config.FERRY_DEFAULT_TTL),
  });
  const deleteDead = z.object({ limit: uintParam('limit', 1, Number.MAX_SAFE_INTEGER, 1) });
  return { publish, consume, respawn, deleteDead };
}

/** The job object lmstfy answers consume and peek with. */
export const jobResponse = z.object({
  msg: z.literal('new job').optional(),
  namespace: z.string(),
  queue: z.string(),
  job_id: z.string(),
  data: z.string().describe('the job body, base64'),
  ttl: z.number().int().describe('seconds left to live; 0 = never expires'),
  elapsed_ms: z.number().int(),
  remain_tries: z.number().int(),
  attributes: z.record(z.string(), z.string()).nullable(),
});
export type JobResponse = z.infer<typeof jobResponse>;
export const errorResponse = z.object({ error: z.string() });

export const sizeResponse = z.object({
  namespace: z.string(),
  queue: z.string(),
  size: z.number().int(),
  paused: z.literal(true).optional().describe('present while the queue is paused: consumes find no job'),
});
export const pausedResponse = z.object({ namespace: z.string(), queue: z.string(), paused: z.boolean() });
