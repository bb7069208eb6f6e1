import type { Client, WorkflowHandle } from '@temporalio/client';
import type { DeadLetterStats } from '../workflows/deadletter.messages';
import { deadLetterStatsQuery, deleteDeadUpdate, respawnDeadUpdate } from '../workflows/deadletter.messages';
import { deadLetterWorkflowId, jobWorkflowId, queueWorkflowId } from '../workflows/ids';
import type { JobWorkflow } from '../workflows/job';
import type { JobView } from '../workflows/job.messages';
import { deleteSignal, destroySignal, jobViewQuery } from '../workflows/job.messages';
import { listIndexSpan } from '../activities/index-range';
import type { IndexEntry, IndexLimits, SpilledRange } from '../workflows/ordered-index.messages';
import { DEFAULT_INDEX_LIMITS } from '../workflows/ordered-index.messages';
import type { QueueStats } from '../workflows/queue.messages';
import { destroyUpdate, readySignal, setPausedUpdate, statsQuery } from '../workflows/queue.messages';
import type { ConsumeRequest } from './job-consumer';
import { JobConsumer } from './job-consumer';
import type { PublishRequest, PublishResult } from './job-publisher';
import { JobPublisher } from './job-publisher';
import type { IndexHome } from './indexes';
import { signalIndexWithStart } from './indexes';
import type { PublishGate } from './publish-gate';
import type { RetentionPolicy } from './retention';
import { allOf, ofType, RUNNING } from './visibility';
import { ignoreNotFound, isNotFound } from './temporal-errors';

export interface QueueSizes {
  namespace: string;
  queue: string;
  ready: number;
  dead: number;
  /** How long the oldest ready job has waited, in seconds; 0 when none is ready. */
  oldestReadyAgeSeconds: number;
  paused: boolean;
}

export interface JobQueueOptions {
  /** Told about failures of background waits (long polls); they are retried. */
  onBackgroundError?: (err: unknown) => void;
  /** How long a publish waits for Temporal before it gives up (the API then answers 503). */
  publishTimeoutMs?: number;
  /** Refuses publishes while Temporal is behind. */
  gate?: PublishGate;
  /** Memory bounds of the index workflows this API starts (the defaults when absent). */
  indexLimits?: IndexLimits;
  /** How long dead jobs are kept (lmstfy's rule, until respawned or deleted, when absent). */
  retention?: RetentionPolicy;
}

/**
 * The lmstfy queue operations, on Temporal. Stateless apart from per-queue batchers and watchers,
 * which only merge concurrent calls; any number of API processes can run side by side.
 */
export class JobQueue {
  private readonly publisher: JobPublisher;
  private readonly consumer: JobConsumer;
  private readonly indexHome: IndexHome;

  constructor(
    private readonly client: Client,
    taskQueue: string,
    options: JobQueueOptions = {},
  ) {
    const publishTimeoutMs = options.publishTimeoutMs ?? 5000;
    const indexHome = { taskQueue, limits: options.indexLimits ?? DEFAULT_INDEX_LIMITS };
    this.indexHome = indexHome;
    const { retention } = options;
    this.publisher = new JobPublisher(client, taskQueue, indexHome, publishTimeoutMs, options.gate, (ns) => retention?.deadJobsMs(ns) ?? 0);
    this.consumer = new JobConsumer(client, indexHome, publishTimeoutMs, options.onBackgroundError ?? (() => undefined));
  }

  /**
   * Starts one job workflow per body; answers once every job is durable and, without delay, ready.
   * Gives up after `publishTimeoutMs`; refused before anything is written while the gate finds
   * Temporal behind.
   */
  publish(request: PublishRequest): Promise<PublishResult> {
    return this.publisher.publish(request);
  }

  /** Leases and moves to working up to `count` jobs, trying the queues in order; waits up to `timeout` seconds. */
  consume(request: ConsumeRequest): Promise<JobView[]> {
    return this.consumer.consume(request);
  }

  /** Ends every long poll (they answer "no job") and every waiting call to Temporal. */
  close(): Promise<void> {
    return this.consumer.close();
  }

  /** Deletes (acks) a job in whatever state it is; unknown ids are fine. */
  async delete(namespace: string, queue: string, jobId: string): Promise<void> {
    try {
      await this.job(namespace, queue, jobId).signal(deleteSignal);
    } catch (err) {
      ignoreNotFound(err);
    }
  }

  /** A job as it is now, or undefined once it is acked, expired or never existed. */
  async peekJob(namespace: string, queue: string, jobId: string): Promise<JobView | undefined> {
    try {
      const view = await this.job(namespace, queue, jobId).query(jobViewQuery);
      return ['acked', 'expired', 'destroyed'].includes(view.state) ? undefined : view;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw (await this.consumer.unreadable(namespace, queue, jobId)) ?? err;
    }
  }

  /**
   * The job at the head of the ready list, without consuming it. While the index is loading its
   * head back from visibility (a consumer took all it held in memory), the head is the oldest job
   * of the first spilled range, listed from visibility as the refill does.
   */
  async peekQueue(namespace: string, queue: string): Promise<JobView | undefined> {
    const stats = await this.stats(namespace, queue, 8);
    const candidates = stats.head;
    const spilled = stats.firstSpilled;
    if (candidates.length === 0 && spilled) {
      const listed = await listIndexSpan(this.client, { namespace, queue, state: 'ready', from: spilled.from, to: spilled.to });
      candidates.push(...listed.slice(0, 8).map((e) => e.jobId));
    }
    for (const jobId of candidates) {
      const view = await this.peekJob(namespace, queue, jobId);
      if (view?.state === 'ready') return view;
    }
    return undefined;
  }

  async size(namespace: string, queue: string): Promise<number> {
    return (await this.stats(namespace, queue, 0)).size;
  }

  /**
   * Pauses or resumes consuming from a queue (BullMQ's `pause()`): while paused, consumes find no
   * job and long polls wait, publishes are taken. Answers the state in force.
   */
  async setPaused(namespace: string, queue: string, paused: boolean): Promise<boolean> {
    // A queue nobody published to has no index yet: start it, so its first jobs find it paused.
    await signalIndexWithStart(this.client, this.indexHome, { index: 'queue', namespace, queue }, readySignal.name, []);
    const state = await this.client.workflow.getHandle(queueWorkflowId(namespace, queue)).executeUpdate(setPausedUpdate, { args: [{ paused }] });
    return state.paused;
  }

  /** Drops the ready jobs; delayed and working jobs stay. Answers how many were dropped. */
  async destroy(namespace: string, queue: string): Promise<number> {
    let dropped: { entries: IndexEntry[]; spilled: SpilledRange[] };
    try {
      dropped = await this.client.workflow.getHandle(queueWorkflowId(namespace, queue)).executeUpdate(destroyUpdate);
    } catch (err) {
      if (isNotFound(err)) return 0;
      throw err;
    }
    const jobs = [...dropped.entries];
    for (const { from, to } of dropped.spilled) {
      jobs.push(...(await listIndexSpan(this.client, { namespace, queue, state: 'ready', from, to })));
    }
    await mapLimited(jobs, 32, (e) => this.job(namespace, queue, e.jobId).signal(destroySignal).catch(ignoreNotFound));
    return jobs.length;
  }

  async deadLetter(namespace: string, queue: string): Promise<DeadLetterStats> {
    try {
      return await this.client.workflow
        .getHandle(deadLetterWorkflowId(namespace, queue))
        .query(deadLetterStatsQuery, { head: 1 });
    } catch (err) {
      if (isNotFound(err)) return { size: 0, head: [] };
      throw err;
    }
  }

  /** Respawns up to `limit` of the oldest dead jobs with a new ttl; answers how many. */
  async respawn(namespace: string, queue: string, limit: number, ttl: number): Promise<number> {
    return this.onDeadLetter(namespace, queue, (h) => h.executeUpdate(respawnDeadUpdate, { args: [{ limit, ttl }] }));
  }

  /** Deletes up to `limit` of the oldest dead jobs; answers how many. */
  async deleteDead(namespace: string, queue: string, limit: number): Promise<number> {
    return this.onDeadLetter(namespace, queue, (h) => h.executeUpdate(deleteDeadUpdate, { args: [{ limit }] }));
  }

  /** Every queue that was ever used, by namespace, as lmstfy's /info lists them. */
  async listQueues(): Promise<Record<string, string[]>> {
    const info: Record<string, string[]> = {};
    const query = allOf(ofType('QueueWorkflow'), RUNNING);
    for await (const { workflowId } of this.client.workflow.list({ query })) {
      const [, namespace, queue] = workflowId.split('/');
      if (namespace && queue) (info[namespace] ??= []).push(queue);
    }
    for (const queues of Object.values(info)) queues.sort();
    return info;
  }

  /** Ready and dead-letter sizes of every queue, read from their index workflows. */
  async sizes(): Promise<QueueSizes[]> {
    const sizes: QueueSizes[] = [];
    for (const [namespace, queues] of Object.entries(await this.listQueues())) {
      for (const queue of queues) {
        const [stats, dead] = await Promise.all([this.stats(namespace, queue, 0), this.deadLetter(namespace, queue)]);
        const oldestReadyAgeSeconds = stats.oldestReadySince === undefined ? 0 : Math.max(0, (Date.now() - stats.oldestReadySince) / 1000);
        sizes.push({ namespace, queue, ready: stats.size, dead: dead.size, oldestReadyAgeSeconds, paused: stats.paused ?? false });
      }
    }
    return sizes;
  }

  /** Fails when Temporal cannot be reached. */
  async ping(): Promise<void> {
    await this.client.workflowService.getSystemInfo({});
  }

  private async onDeadLetter(
    namespace: string,
    queue: string,
    call: (handle: WorkflowHandle) => Promise<number>,
  ): Promise<number> {
    try {
      return await call(this.client.workflow.getHandle(deadLetterWorkflowId(namespace, queue)));
    } catch (err) {
      if (isNotFound(err)) return 0;
      throw err;
    }
  }

  async stats(namespace: string, queue: string, head: number): Promise<QueueStats> {
    try {
      return await this.client.workflow.getHandle(queueWorkflowId(namespace, queue)).query(statsQuery, { head });
    } catch (err) {
      if (isNotFound(err)) return { size: 0, leased: 0, spilled: 0, head: [] };
      throw err;
    }
  }

  private job(namespace: string, queue: string, jobId: string): WorkflowHandle<typeof JobWorkflow> {
    return this.client.workflow.getHandle(jobWorkflowId(namespace, queue, jobId));
  }
}

/** Runs `fn` over `items` with at most `limit` calls in flight. */
async function mapLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(lanes);
}
