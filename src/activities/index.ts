import { status } from '@grpc/grpc-js';
import type { Client } from '@temporalio/client';
import type { IndexKind } from '../temporal/indexes';
import { signalIndexWithStart } from '../temporal/indexes';
import { JobPublisher } from '../temporal/job-publisher';
import { RetentionPolicy, startExpiredPushDeletion } from '../temporal/retention';
import { grpcCodeOf } from '../temporal/temporal-errors';
import type { ScheduledJob } from '../workflows/schedule.messages';
import type { IndexEntry, IndexLimits } from '../workflows/ordered-index.messages';
import { DEFAULT_INDEX_LIMITS } from '../workflows/ordered-index.messages';
import type { IndexSpan } from './index-range';
import { listIndexSpan } from './index-range';

export interface ActivityDeps {
  client: Client;
  taskQueue: string;
  /** Memory bounds of the index workflows the activities start (the defaults when absent). */
  indexLimits?: IndexLimits;
  /** What the retention schedule deletes, and how long dead jobs are kept (lmstfy's rule when absent). */
  retention?: RetentionPolicy;
}

/** Activities get their Temporal client from the worker, so tests can hand in the test server's. */
export const createActivities = ({ client, taskQueue, indexLimits = DEFAULT_INDEX_LIMITS, retention = new RetentionPolicy(0) }: ActivityDeps) => {
  // Without a gate: a run's job is published when its time comes; while Temporal is behind, the
  // activity's retries wait instead.
  const publisher = new JobPublisher(client, taskQueue, { taskQueue, limits: indexLimits }, 10_000, undefined, (ns) => retention.deadJobsMs(ns));
  return {
    /** A job's index workflow was not running (e.g. terminated by an operator): start it and signal. */
    async signalIndex(request: {
      index: IndexKind;
      namespace: string;
      queue: string;
      signal: string;
      payload: unknown;
    }): Promise<void> {
      await signalIndexWithStart(client, { taskQueue, limits: indexLimits }, request, request.signal, request.payload);
    },

    /** An index loads back jobs it had spilled (kept only as a count) from visibility. */
    async listIndexRange(span: IndexSpan): Promise<IndexEntry[]> {
      return listIndexSpan(client, span);
    },

    /**
     * Starts Temporal's batch delete of the finished pushes past their namespace's retention, as
     * batch job `jobId`; null when none is due, or when another batch job still runs (Temporal runs
     * one per namespace at a time; the next hour's run takes over).
     */
    async deleteExpiredPushes(jobId: string): Promise<string | null> {
      try {
        return await startExpiredPushDeletion(client, taskQueue, retention, Date.now(), jobId);
      } catch (err) {
        if (grpcCodeOf(err) === status.RESOURCE_EXHAUSTED) return null;
        throw err;
      }
    },

    /** A schedule's run publishes its job, once per run (`runId` is the idempotency key); answers the job id. */
    async publishScheduledJob(job: ScheduledJob, runId: string): Promise<string> {
      const { namespace, queue, data, ttl, tries, delay } = job;
      const { jobIds } = await publisher.publish({ namespace, queue, bodies: [Buffer.from(data, 'base64')], ttl, tries, delay, idempotencyKey: runId });
      return jobIds[0]!;
    },
  };
};
