import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { indexTaskQueue } from '../workflows/ids';
import { ErrorCode, FerryError } from '../errors';

/** A publish refused because Temporal is behind; the API answers 503 with Retry-After. */
export class OverloadedError extends FerryError {
  override readonly name = 'OverloadedError';
  constructor(
    readonly backlogSeconds: number,
    retryAfterSeconds: number,
  ) {
    super(ErrorCode.Overloaded, `temporal is behind (workflow tasks wait ${backlogSeconds} s for a worker), retry later`, retryAfterSeconds);
  }
}

/**
 * Admission control for publishes. Temporal answers a start as soon as the workflow is written, so
 * publishers can outrun what the server and workers process: on the embedded dev server 175 jobs/s
 * were accepted while 4-5/s ran their first task, and the backlog (and a fresh job's consume
 * latency) grew to 44 minutes (BENCHMARKS.md §5). The gate refuses publishes while the oldest
 * workflow task of Ferry's task queues has waited longer than a bound, so publishers slow to what
 * the system absorbs instead of building a backlog nobody can consume.
 */
export class PublishGate {
  private reading: { at: number; seconds: Promise<number> } | undefined;

  /**
   * @param backlogSeconds reads the age in seconds of the oldest waiting workflow task.
   * @param maxBacklogSeconds the bound; 0 admits everything without reading.
   */
  constructor(
    private readonly backlogSeconds: () => Promise<number>,
    private readonly maxBacklogSeconds: number,
    private readonly refreshMs = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Throws OverloadedError when the backlog is too old; a failed reading admits (the publish then fails on its own). */
  async admit(): Promise<void> {
    if (this.maxBacklogSeconds === 0) return;
    const now = this.now();
    if (!this.reading || now - this.reading.at >= this.refreshMs) {
      this.reading = { at: now, seconds: this.backlogSeconds().catch(() => 0) };
    }
    const seconds = await this.reading.seconds;
    if (seconds > this.maxBacklogSeconds) throw new OverloadedError(Math.round(seconds), RETRY_AFTER_SECONDS);
  }
}

/** The server caches a task queue's backlog statistics for about 5 s, so asking sooner tells nothing new. */
const RETRY_AFTER_SECONDS = 5;

/** A reading takes a few milliseconds; one that takes longer admits rather than delay the publish. */
const READ_DEADLINE_MS = 1000;

/**
 * The age in seconds of the oldest workflow task waiting on Ferry's task queue or its index task
 * queue, all partitions together (DescribeTaskQueue statistics, approximate and cached ~5 s by the
 * server). Sticky queues are not counted; a sticky task waiting over 10 s moves to these queues.
 */
export function workflowBacklogAge(client: Client, taskQueue: string): () => Promise<number> {
  const ageOf = async (name: string) => {
    // The SDK would retry an unreachable Temporal for ~20 s; the publish has its own deadline after this.
    const { stats } = await client.withDeadline(Date.now() + READ_DEADLINE_MS, () => client.workflowService.describeTaskQueue({
      namespace: client.options.namespace,
      taskQueue: { name },
      taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
      reportStats: true,
    }));
    const age = stats?.approximateBacklogAge;
    return Number(age?.seconds ?? 0) + (age?.nanos ?? 0) / 1e9;
  };
  return async () => Math.max(...(await Promise.all([ageOf(taskQueue), ageOf(indexTaskQueue(taskQueue))])));
}
