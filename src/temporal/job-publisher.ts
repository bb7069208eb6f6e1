import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import { monotonicFactory } from 'ulid';
import { FerryNamespace, FerryQueue, FerryState, FerryStateSince, jobWorkflowId } from '../workflows/ids';
import type { JobWorkflow } from '../workflows/job';
import type { JobSpec } from '../workflows/job.messages';
import type { IndexEntry } from '../workflows/ordered-index.messages';
import { Coalescer } from './coalescer';
import type { IndexHome } from './indexes';
import { signalIndexWithStart } from './indexes';
import { perQueue } from './per-queue';
import type { PublishGate } from './publish-gate';

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

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** A ULID-shaped id derived from an idempotency key, so a retried publish names the same job. */
export function idempotentJobId(namespace: string, queue: string, key: string, index: number): string {
  const digest = createHash('sha256').update(`${namespace}/${queue}/${key}`).digest();
  let id = '';
  for (let i = 0; i < 22; i++) id += CROCKFORD[digest[i]! % 32];
  // The suffix keeps the jobs of one bulk publish in order when they share a timestamp.
  for (let shift = 15; shift >= 0; shift -= 5) id += CROCKFORD[(index >> shift) & 31];
  return id;
}

/**
 * Publishing: one job workflow per body, then one ready signal per call to the queue's index,
 * merged with concurrent publishes to the same queue.
 */
export class JobPublisher {
  private readonly newJobId = monotonicFactory();
  private readonly readySignals = new Map<string, Coalescer<IndexEntry[], void>>();

  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
    private readonly indexHome: IndexHome,
    private readonly publishTimeoutMs: number,
    private readonly gate: PublishGate | undefined,
    /** How long a namespace's dead jobs are kept (ms, 0 = until respawned or deleted). */
    private readonly deadRetentionMs: (namespace: string) => number = () => 0,
  ) {}

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
    const deadRetentionMs = this.deadRetentionMs(namespace);
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
          ...(deadRetentionMs > 0 ? { deadRetentionMs } : {}),
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
    const { status, typedSearchAttributes } = await this.client.workflow.getHandle<typeof JobWorkflow>(jobWorkflowId(namespace, queue, jobId)).describe();
    const since = typedSearchAttributes.get(FerryStateSince);
    if (status.name !== 'RUNNING' || typedSearchAttributes.get(FerryState) !== 'ready' || since === undefined) return undefined;
    return { jobId, epoch: 0, since };
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
}
