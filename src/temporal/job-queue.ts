import { createHash } from 'node:crypto';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { monotonicFactory } from 'ulid';
import type { DeadLetterStats } from '../workflows/deadletter.messages';
import { deadLetterStatsQuery, deleteDeadUpdate, respawnDeadUpdate } from '../workflows/deadletter.messages';
import {
  deadLetterWorkflowId,
  FerryNamespace,
  FerryQueue,
  FerryState,
  FerryStateSince,
  jobWorkflowId,
  queueWorkflowId,
} from '../workflows/ids';
import type { JobWorkflow } from '../workflows/job';
import type { JobSpec, JobView } from '../workflows/job.messages';
import { consumeUpdate, deleteSignal, destroySignal, jobViewQuery } from '../workflows/job.messages';
import { listIndexSpan } from '../activities/index-range';
import type { IndexEntry, IndexLimits, Lease, SpilledRange } from '../workflows/ordered-index.messages';
import { DEFAULT_INDEX_LIMITS } from '../workflows/ordered-index.messages';
import type { LeaseRequest, QueueStats } from '../workflows/queue.messages';
import { awaitReadyUpdate, destroyUpdate, forgetSignal, leaseUpdate, QUEUE_EMPTY, statsQuery } from '../workflows/queue.messages';
import type { IndexHome } from './indexes';
import { signalIndexWithStart } from './indexes';
import { Coalescer, takeInOrder } from './coalescer';
import type { PublishGate } from './publish-gate';
import { LeaseSettler } from './lease-settler';
import { ReadyWatcher } from './ready-watcher';
import { missingCodecKey } from './codec-key-usage';
import { UnknownCodecKeyError } from './payload-codec';
import { allOf, ofType, RUNNING } from './visibility';
import { ignoreNotFound, isFailureOfType, isNotFound, isRejectedUpdate, isUnappliedUpdate } from './temporal-errors';

export interface PublishRequest {
  namespace: string;
  queue: string;
  /** One body per job; a bulk publish passes several. */
  bodies: Buffer[];
  delay: number;
  ttl: number;
  tries: number;
  attributes?: Record<string, string>;
  /** Makes the publish idempotent: the same key in the same queue yields the same job ids. */
  idempotencyKey?: string;
}

export interface PublishResult {
  jobIds: string[];
  /** True when the idempotency key had been used already and nothing new was created. */
  replayed: boolean;
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
}

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

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A ULID-shaped id derived from an idempotency key, so a retried publish names the same job. */
function idempotentJobId(namespace: string, queue: string, key: string, index: number): string {
  const digest = createHash('sha256').update(`${namespace}/${queue}/${key}`).digest();
  let id = '';
  for (let i = 0; i < 22; i++) id += CROCKFORD[digest[i]! % 32];
  // The suffix keeps the jobs of one bulk publish in order when they share a timestamp.
  for (let shift = 15; shift >= 0; shift -= 5) id += CROCKFORD[(index >> shift) & 31];
  return id;
}

/**
 * The lmstfy queue operations, on Temporal. Stateless apart from per-queue batchers and watchers,
 * which only merge concurrent calls; any number of API processes can run side by side.
 */
export class JobQueue {
  private readonly newJobId = monotonicFactory();
  private readonly leases = new Map<string, Coalescer<number, Lease[]>>();
  private readonly readySignals = new Map<string, Coalescer<IndexEntry[], void>>();
  private readonly watchers = new Map<string, ReadyWatcher>();
  private readonly settlers = new Map<string, LeaseSettler>();
  private readonly onBackgroundError: (err: unknown) => void;
  private readonly publishTimeoutMs: number;
  private readonly gate: PublishGate | undefined;
  private readonly indexHome: IndexHome;
  private closed = false;

  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
    options: JobQueueOptions = {},
  ) {
    this.onBackgroundError = options.onBackgroundError ?? (() => undefined);
    this.publishTimeoutMs = options.publishTimeoutMs ?? 5000;
    this.gate = options.gate;
    this.indexHome = { taskQueue, limits: options.indexLimits ?? DEFAULT_INDEX_LIMITS };
  }

  /**
   * Starts one job workflow per body; answers once every job is durable and, without delay, ready.
   * Gives up after `publishTimeoutMs` (the SDK would otherwise retry an unreachable Temporal for
   * ~20 s); a retry with the same Idempotency-Key then finishes what was started. Refused before
   * anything is written while the gate finds Temporal behind.
   */
  async publish(request: PublishRequest): Promise<PublishResult> {
    await this.gate?.admit();
    return this.client.withDeadline(Date.now() + this.publishTimeoutMs, () => this.startJobs(request));
  }

  private async startJobs(request: PublishRequest): Promise<PublishResult> {
    const { namespace, queue, bodies, delay, ttl, tries, attributes, idempotencyKey } = request;
    const publishedAt = Date.now();
    let replayed = false;
    /** What the ready signal indexes: new jobs at this publish's time, replayed ones at their own. */
    const ready: IndexEntry[] = [];
    const jobIds = await Promise.all(
      bodies.map(async (body, i) => {
        const jobId =
          idempotencyKey === undefined ? this.newJobId(publishedAt) : idempotentJobId(namespace, queue, idempotencyKey, i);
        const spec: JobSpec = {
          namespace,
          queue,
          jobId,
          data: body.toString('base64'),
          ttl,
          tries,
          delay,
          attributes,
          publishedAt,
          indexedByPublisher: delay === 0,
        };
        try {
          await this.client.workflow.start<typeof JobWorkflow>('JobWorkflow', {
            workflowId: jobWorkflowId(namespace, queue, jobId),
            taskQueue: this.taskQueue,
            args: [spec],
            workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
            typedSearchAttributes: [
              { key: FerryNamespace, value: namespace },
              { key: FerryQueue, value: queue },
              { key: FerryState, value: delay > 0 ? 'delayed' : 'ready' },
              { key: FerryStateSince, value: publishedAt },
            ],
          });
          ready.push({ jobId, epoch: 0, since: publishedAt });
        } catch (err) {
          if (!(err instanceof WorkflowExecutionAlreadyStartedError) || idempotencyKey === undefined) throw err;
          // A retry of a publish that may have stopped between starting the job and indexing it.
          replayed = true;
          const entry = await this.firstReadyEntry(namespace, queue, jobId);
          if (entry) ready.push(entry);
        }
        return jobId;
      }),
    );
    // One signal indexes the whole call, merged with concurrent publishes to the same queue.
    if (delay === 0 && ready.length > 0) await this.readySignal(namespace, queue).run(ready);
    return { jobIds, replayed };
  }

  /**
   * The index entry of a job started by an earlier attempt of a publish, if it is still in the
   * ready state it started in: at the time that attempt recorded (the job's sort key, and where
   * visibility lists it when its range is spilled), not this retry's. Indexed under the retry's
   * time, a job whose first entry had been spilled was counted twice until its range was loaded
   * back (a size 123 too high in a cluster run whose bulk publishes were retried).
   */
  private async firstReadyEntry(namespace: string, queue: string, jobId: string): Promise<IndexEntry | undefined> {
    const { status, typedSearchAttributes } = await this.job(namespace, queue, jobId).describe();
    const since = typedSearchAttributes.get(FerryStateSince);
    if (status.name !== 'RUNNING' || typedSearchAttributes.get(FerryState) !== 'ready' || since === undefined) return undefined;
    return { jobId, epoch: 0, since };
  }

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
      throw (await this.unreadable(namespace, queue, jobId)) ?? err;
    }
  }

  /** The typed error for a job whose payloads are under a codec key this process lacks, if it is one. */
  private async unreadable(namespace: string, queue: string, jobId: string): Promise<UnknownCodecKeyError | undefined> {
    const keyId = await this.client
      .withDeadline(Date.now() + UNREADABLE_CHECK_MS, () => missingCodecKey(this.client, jobWorkflowId(namespace, queue, jobId)))
      .catch(() => undefined);
    return keyId === undefined ? undefined : new UnknownCodecKeyError(keyId, `job ${jobId}`);
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
    const consumed = this.job(namespace, queue, jobId)
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
        this.client.withDeadline(Date.now() + this.publishTimeoutMs, () => handle.signal(forgetSignal, { jobIds })).catch(ignoreNotFound);
      return new LeaseSettler(forget, SETTLE_DELAY_MS, this.onBackgroundError);
    });
  }

  private readySignal(namespace: string, queue: string): Coalescer<IndexEntry[], void> {
    return perQueue(this.readySignals, namespace, queue, () => {
      const target = { index: 'queue', namespace, queue } as const;
      return new Coalescer<IndexEntry[], void>(async (batches) => {
        // A deadline of its own: the call runs in the async context of the publish that started
        // the chain, whose deadline may be spent by the time later publishes' entries go out.
        await this.client.withDeadline(Date.now() + this.publishTimeoutMs, () =>
          signalIndexWithStart(this.client, this.indexHome, target, 'ready', batches.flat()),
        );
        return batches.map(() => undefined);
      });
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

/** The one `T` of a queue in `map`, made on first use. */
function perQueue<T>(map: Map<string, T>, namespace: string, queue: string, make: () => T): T {
  const key = `${namespace}/${queue}`;
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}

/** Runs `fn` over `items` with at most `limit` calls in flight. */
async function mapLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]!);
  });
  await Promise.all(lanes);
}
