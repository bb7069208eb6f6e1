import type { Client } from '@temporalio/client';
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';
import Long from 'long';
import { indexTaskQueue, retentionScheduleId } from '../workflows/ids';
import { allOf, literal, ofType } from './visibility';

/** What Temporal's namespace retention is set to when some namespace keeps everything (0). */
export const KEEP_MS = 3650 * 86_400_000;
/** Temporal keeps a finished workflow at least a day. */
const MIN_TEMPORAL_RETENTION_MS = 86_400_000;

/**
 * How long each Ferry namespace keeps its pushes (events, their delivery records, dead deliveries)
 * and, where it has a retention of its own, its dead jobs; 0 = keep. Finished pushes are deleted by
 * Temporal: by its namespace retention, which should be the longest of these, and, for namespaces
 * that keep theirs shorter, by a batch delete that a schedule starts every hour.
 */
export class RetentionPolicy {
  private readonly namespaces: Map<string, number>;

  constructor(
    readonly defaultMs: number,
    namespaces: Iterable<[string, number]> = [],
  ) {
    this.namespaces = new Map(namespaces);
  }

  /** How long a namespace's pushes are kept (ms, 0 = keep). */
  pushesMs(namespace: string): number {
    return this.namespaces.get(namespace) ?? this.defaultMs;
  }

  /** How long a namespace's dead jobs are kept (0 = until respawned or deleted, lmstfy's rule, unless the namespace sets a retention). */
  deadJobsMs(namespace: string): number {
    return this.namespaces.get(namespace) ?? 0;
  }

  /** The Temporal namespace retention these need: the longest of them (a day at least). */
  temporalRetentionMs(): number {
    const all = [this.defaultMs, ...this.namespaces.values()];
    return all.includes(0) ? KEEP_MS : Math.max(MIN_TEMPORAL_RETENTION_MS, ...all);
  }

  /**
   * The visibility query of the finished pushes that Temporal's own retention would keep too long:
   * those of namespaces whose retention is shorter, published before it; undefined when there are none.
   */
  expiredPushesQuery(taskQueue: string, now: number): string | undefined {
    const temporal = this.temporalRetentionMs();
    const before = (ms: number) => `StartTime < ${literal(new Date(now - ms).toISOString())}`;
    const listed = [...this.namespaces.keys()];
    const shorter = [...this.namespaces].filter(([, ms]) => ms > 0 && ms < temporal);
    const clauses = shorter.map(([ns, ms]) => `(FerryNamespace = ${literal(ns)} AND ${before(ms)})`);
    if (this.defaultMs > 0 && this.defaultMs < temporal) {
      const others = listed.length > 0 ? ` AND FerryNamespace NOT IN (${listed.map(literal).join(', ')})` : '';
      clauses.push(`(${before(this.defaultMs)}${others})`);
    }
    if (clauses.length === 0) return undefined;
    return allOf(ofType('PushWorkflow'), `TaskQueue = ${literal(taskQueue)}`, `ExecutionStatus != 'Running'`, `(${clauses.join(' OR ')})`);
  }
}

/** How often the retention schedule looks for finished pushes to delete. */
const CLEANUP_EVERY = '1h';

/** Makes sure the hourly retention schedule of this deployment (its task queue) exists. */
export async function ensureRetentionSchedule(client: Client, taskQueue: string): Promise<void> {
  try {
    await client.schedule.create({
      scheduleId: retentionScheduleId(taskQueue),
      spec: { intervals: [{ every: CLEANUP_EVERY }] },
      action: { type: 'startWorkflow', workflowType: 'RetentionWorkflow', taskQueue: indexTaskQueue(taskQueue), args: [] },
      policies: { overlap: ScheduleOverlapPolicy.SKIP },
      memo: { description: 'deletes finished pushes of namespaces whose retention is shorter than the Temporal namespace\'s' },
    });
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
}

/**
 * Starts Temporal's batch delete of the finished pushes past their namespace's retention; answers
 * the batch job's id, or null when there is nothing to delete or a batch still runs (the next
 * hour's run takes over).
 */
export async function startExpiredPushDeletion(client: Client, taskQueue: string, policy: RetentionPolicy, now: number, jobId: string): Promise<string | null> {
  const visibilityQuery = policy.expiredPushesQuery(taskQueue, now);
  if (!visibilityQuery) return null;
  const { namespace } = client.options;
  const { count } = await client.workflowService.countWorkflowExecutions({ namespace, query: visibilityQuery });
  if (Long.fromValue(count ?? 0).isZero()) return null;
  await client.workflowService.startBatchOperation({
    namespace,
    jobId,
    visibilityQuery,
    reason: 'Ferry retention',
    deletionOperation: {},
  });
  return jobId;
}

/** Sets Temporal's namespace retention to what the policy needs when it is shorter (the embedded dev server starts at a day). */
export async function ensureTemporalRetention(client: Client, policy: RetentionPolicy): Promise<void> {
  const { namespace } = client.options;
  const wanted = policy.temporalRetentionMs();
  const described = await client.workflowService.describeNamespace({ namespace });
  const current = described.config?.workflowExecutionRetentionTtl;
  const currentMs = Long.fromValue(current?.seconds ?? 0).toNumber() * 1000;
  if (currentMs >= wanted) return;
  await client.workflowService.updateNamespace({
    namespace,
    config: { workflowExecutionRetentionTtl: { seconds: Long.fromNumber(Math.ceil(wanted / 1000)) } },
  });
}
