import type { Client } from '@temporalio/client';
import { jobWorkflowId, queueWorkflowId } from '../workflows/ids';
import type { JobWorkflow } from '../workflows/job';
import type { JobView } from '../workflows/job.messages';
import { consumeUpdate } from '../workflows/job.messages';
import type { Lease } from '../workflows/ordered-index.messages';
import type { LeaseRequest } from '../workflows/queue.messages';
import { awaitReadyUpdate, forgetSignal, leaseUpdate, QUEUE_EMPTY } from '../workflows/queue.messages';
import { missingCodecKey } from './codec-key-usage';
import { Coalescer, takeInOrder } from './coalescer';
import type { IndexHome } from './indexes';
import { signalIndexWithStart } from './indexes';
import { LeaseSettler } from './lease-settler';
import { UnknownCodecKeyError } from './payload-codec';
import { perQueue } from './per-queue';
import { ReadyWatcher } from './ready-watcher';
import { ignoreNotFound, isFailureOfType, isNotFound, isRejectedUpdate, isUnappliedUpdate } from './temporal-errors';

export interface ConsumeRequest {
  namespace: string;
  /** In priority order. */
  queues: string[];
  ttr: number;
  /** Seconds to wait for a job; 0 answers at once. */
  timeout: number;
  count: number;
  freezeTries: boolean;
  /** Aborts a long poll, e.g. when the HTTP client goes away. */
  signal?: AbortSignal;
}

/** How long a consumer may take between leasing a job and moving it to working. */
const LEASE_MS = 15_000;

/** How long a batch's settles wait for the next lease to carry them before a signal does. */
const SETTLE_DELAY_MS = 100;
/**
 * A consume update unanswered after this long may be on a job no worker can read (its payloads
 * under a codec key that was dropped): the job's history is then checked.
 */
const UNREADABLE_CHECK_MS = 2000;

/** A lease the server aborted unapplied is sent again this many times in all before the consume answers 503. */
const LEASE_ATTEMPTS = 3;

/**
 * Consuming: leases from a queue's index (merged per queue), consume updates on the leased jobs,
 * settles of the leases, and one long-poll watcher per queue.
 */
export class JobConsumer {
  private readonly leases = new Map<string, Coalescer<number, Lease[]>>();
  private readonly watchers = new Map<string, ReadyWatcher>();
  private readonly settlers = new Map<string, LeaseSettler>();
  private closed = false;

  constructor(
    private readonly client: Client,
    private readonly indexHome: IndexHome,
    /** How long a settle signal may wait for Temporal (the publish timeout). */
    private readonly signalTimeoutMs: number,
    private readonly onBackgroundError: (err: unknown) => void,
  ) {}

  /**
   * Leases and moves to working up to `count` jobs, trying the queues in order; waits up to
   * `timeout` seconds for one. Returns no job when none became ready in time.
   */
  async consume(request: ConsumeRequest): Promise<JobView[]> {
    const until = Date.now() + request.timeout * 1000;
    for (;;) {
      for (const queue of request.queues) {
        const jobs = await this.takeReady(request.namespace, queue, request);
        if (jobs.length > 0) return jobs;
      }
      if (Date.now() >= until || request.signal?.aborted || this.closed) return [];
      await this.waitForAny(request.namespace, request.queues, until, request.signal);
    }
  }

  /** Ends every long poll (they answer "no job") and every waiting call to Temporal. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.watchers.values()].map((w) => w.close()));
    await Promise.all([...this.settlers.values()].map((s) => s.flush()));
  }

  /** The typed error for a job whose payloads are under a codec key this process lacks, if it is one. */
  async unreadable(namespace: string, queue: string, jobId: string): Promise<UnknownCodecKeyError | undefined> {
    const keyId = await this.client
      .withDeadline(Date.now() + UNREADABLE_CHECK_MS, () => missingCodecKey(this.client, jobWorkflowId(namespace, queue, jobId)))
      .catch(() => undefined);
    return keyId === undefined ? undefined : new UnknownCodecKeyError(keyId, `job ${jobId}`);
  }

  /**
   * Leases from one queue and moves the leased jobs to working, replacing leases that went stale.
   * A job no worker can read is passed over (it stays ready, and its lease runs out); when nothing
   * else was taken, its error is the answer.
   */
  private async takeReady(namespace: string, queue: string, request: ConsumeRequest): Promise<JobView[]> {
    const taken: JobView[] = [];
    let unreadable: UnknownCodecKeyError | undefined;
    for (;;) {
      const leases = await this.leaseCoalescer(namespace, queue).run(request.count - taken.length);
      if (leases.length === 0) {
        if (taken.length === 0 && unreadable) throw unreadable;
        return taken;
      }
      const results = await Promise.all(leases.map((lease) => this.consumeLeased(namespace, queue, lease.jobId, request)));
      for (const result of results) {
        if (result instanceof UnknownCodecKeyError) unreadable = result;
        else if (result) taken.push(result);
      }
      // Every other lease of the batch is settled, on the next lease or by a signal: consumed jobs
      // are working now, and the rest left ready while they were indexed.
      this.settler(namespace, queue).add(leases.filter((_, i) => !(results[i] instanceof UnknownCodecKeyError)).map((l) => l.jobId));
      if (taken.length >= request.count || results.every((r) => r !== undefined && !(r instanceof UnknownCodecKeyError))) return taken;
    }
  }

  /** Moves one leased job to working: its view, or undefined when it left ready, or why no worker can read it. */
  private async consumeLeased(namespace: string, queue: string, jobId: string, request: ConsumeRequest): Promise<JobView | undefined | UnknownCodecKeyError> {
    const consumed = this.client.workflow
      .getHandle<typeof JobWorkflow>(jobWorkflowId(namespace, queue, jobId))
      .executeUpdate(consumeUpdate, { args: [{ ttr: request.ttr, freezeTries: request.freezeTries }] })
      .catch(async (err: unknown) => {
        // Rejected: the job left ready since it was indexed (acked, expired, consumed elsewhere).
        if (isRejectedUpdate(err) || isNotFound(err)) return undefined;
        // Also refused so while the job's workflow task is failing, as an unreadable payload makes it.
        const unreadable = isUnappliedUpdate(err) ? await this.unreadable(namespace, queue, jobId) : undefined;
        if (unreadable) return unreadable;
        throw err;
      });
    let timer: NodeJS.Timeout | undefined;
    const unreadable = new Promise<UnknownCodecKeyError>((resolve) => {
      timer = setTimeout(() => void this.unreadable(namespace, queue, jobId).then((err) => err && resolve(err)), UNREADABLE_CHECK_MS);
    });
    try {
      return await Promise.race([consumed, unreadable]);
    } finally {
      clearTimeout(timer);
    }
  }

  private leaseCoalescer(namespace: string, queue: string): Coalescer<number, Lease[]> {
    return perQueue(this.leases, namespace, queue, () => {
      const handle = this.client.workflow.getHandle(queueWorkflowId(namespace, queue));
      const settler = this.settler(namespace, queue);
      return new Coalescer(
        takeInOrder(async (count) => {
          const settle = settler.take();
          const request: LeaseRequest = { count, leaseMs: LEASE_MS, ...(settle.length > 0 ? { settle } : {}) };
          for (let attempt = 1; ; attempt++) {
            try {
              return await handle.executeUpdate(leaseUpdate, { args: [request] });
            } catch (err) {
              if (isNotFound(err)) return [];
              if (isUnappliedUpdate(err) && attempt < LEASE_ATTEMPTS) continue;
              // Rejected by the validator (nothing ready) or failed: the settles were not applied.
              settler.add(settle);
              if (isFailureOfType(err, QUEUE_EMPTY)) return [];
              throw err;
            }
          }
        }),
      );
    });
  }

  private settler(namespace: string, queue: string): LeaseSettler {
    return perQueue(this.settlers, namespace, queue, () => {
      const handle = this.client.workflow.getHandle(queueWorkflowId(namespace, queue));
      const forget = (jobIds: string[]) =>
        this.client.withDeadline(Date.now() + this.signalTimeoutMs, () => handle.signal(forgetSignal, { jobIds })).catch(ignoreNotFound);
      return new LeaseSettler(forget, SETTLE_DELAY_MS, this.onBackgroundError);
    });
  }

  private waitForAny(namespace: string, queues: string[], until: number, signal?: AbortSignal): Promise<void> {
    const done = new AbortController();
    const onAbort = () => done.abort();
    signal?.addEventListener('abort', onAbort);
    const waits = queues.map((queue) => this.watcher(namespace, queue).wait(until, done.signal));
    return Promise.race(waits).finally(() => {
      signal?.removeEventListener('abort', onAbort);
      done.abort();
    });
  }

  private watcher(namespace: string, queue: string): ReadyWatcher {
    return perQueue(this.watchers, namespace, queue, () => {
      const handle = this.client.workflow.getHandle(queueWorkflowId(namespace, queue));
      const awaitReady = (timeoutMs: number, signal: AbortSignal) =>
        this.client.withAbortSignal(signal, () => handle.executeUpdate(awaitReadyUpdate, { args: [{ timeoutMs }] }));
      return new ReadyWatcher(async (timeoutMs, signal) => {
        try {
          return await awaitReady(timeoutMs, signal);
        } catch (err) {
          if (!isNotFound(err)) throw err;
          // Consumers may wait on a queue nobody has published to yet: create it, then wait.
          await signalIndexWithStart(this.client, this.indexHome, { index: 'queue', namespace, queue }, 'forget', {
            jobIds: [],
          });
          return awaitReady(timeoutMs, signal);
        }
      }, this.onBackgroundError);
    });
  }
}
