import {
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  metricMeter,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities';
import { deadLetterWorkflowId, FerryState, FerryStateSince, queueWorkflowId } from './ids';
import type { SignalDefinition } from '@temporalio/workflow';
import type { ConsumeRequest, JobRef, JobSpec, JobState, JobView } from './job.messages';
import { consumeUpdate, deleteSignal, destroySignal, jobViewQuery, respawnSignal } from './job.messages';
import type { IndexEntry } from './ordered-index.messages';
import { deadSignal, deadLeftSignal } from './deadletter.messages';
import { leftSignal, readySignal } from './queue.messages';
import { rewriteSignal } from './rewrite.messages';

const { signalIndex } = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
});

const TERMINAL: readonly JobState[] = ['acked', 'expired', 'destroyed'];

// Moments only the job sees; the worker's Prometheus exporter publishes them (not during replay).
const consumeToAck = metricMeter.createHistogram('ferry_consume_to_ack', 'int', 'ms', 'Time from consume to ack');
const expiredJobs = metricMeter.createCounter('ferry_jobs_expired', undefined, 'Jobs whose ttl ran out');
const deadJobs = metricMeter.createCounter('ferry_jobs_dead', undefined, 'Jobs moved to the dead letter');

/**
 * One lmstfy job. Its timers carry delay, ttr and ttl; its state is the truth that the queue and
 * dead-letter indexes only mirror. Returns the state it ended in.
 */
export async function JobWorkflow(input: JobSpec): Promise<JobState> {
  // Delay and ttl count from the start time the server recorded, not from the publisher's clock.
  const spec: JobSpec = input.resume ? input : { ...input, publishedAt: workflowInfo().startTime.getTime() };
  const { namespace, queue, jobId } = spec;
  const resume = spec.resume;
  let state: JobState = resume?.state ?? (spec.delay > 0 ? 'delayed' : 'ready');
  let epoch = resume?.epoch ?? 0;
  // The publisher indexed the job under its own timestamp; the job keeps that as its sort key.
  let since = resume?.since ?? input.publishedAt;
  let tries = resume?.tries ?? spec.tries;
  let expiresAt = resume ? resume.expiresAt ?? undefined : spec.ttl > 0 ? spec.publishedAt + spec.ttl * 1000 : undefined;
  const readyAt = spec.publishedAt + spec.delay * 1000;
  let workingUntil = resume?.workingUntil ?? 0;
  /** With a dead-letter retention: when this dead job is dropped. */
  let deadUntil = resume?.deadUntil ?? undefined;
  /** The epoch at which the main loop last began to wait, its timers started. */
  let waitingAt = -1;
  const outbox: Promise<void>[] = [];
  let rewriteAsked = false;
  const renew = () => rewriteAsked || workflowInfo().continueAsNewSuggested;

  const queueIndex = queueWorkflowId(namespace, queue);
  const deadIndex = deadLetterWorkflowId(namespace, queue);

  /** Index signals are fire-and-forget for the handler; if the index is gone, an activity recreates it. */
  const notify = <T extends IndexEntry | IndexEntry[] | JobRef>(
    index: 'queue' | 'deadletter',
    signal: SignalDefinition<[T]>,
    payload: T,
  ): void => {
    const workflowId = index === 'queue' ? queueIndex : deadIndex;
    outbox.push(
      getExternalWorkflowHandle(workflowId)
        .signal(signal, payload)
        .catch(() => signalIndex({ index, namespace, queue, signal: signal.name, payload })),
    );
  };

  const enter = (next: JobState): void => {
    const tags = { namespace, queue };
    if (state === 'working' && next === 'acked') consumeToAck.record(Date.now() - since, tags);
    if (next === 'expired') expiredJobs.add(1, tags);
    if (next === 'dead') deadJobs.add(1, tags);
    state = next;
    epoch++;
    since = Date.now();
    upsertSearchAttributes([
      { key: FerryState, value: state },
      { key: FerryStateSince, value: since },
    ]);
    if (state === 'ready') notify('queue', readySignal, [{ jobId, epoch, since }]);
    if (state === 'dead') notify('deadletter', deadSignal, { jobId, epoch, since });
  };

  const leave = (): void => {
    if (state === 'ready') notify('queue', leftSignal, { jobId, epoch, since });
    if (state === 'dead') notify('deadletter', deadLeftSignal, { jobId, epoch, since });
  };

  // Absolute times: a query sees the workflow's clock as of its last task, so the API computes
  // ttl and elapsed time when it answers.
  const view = (): JobView => ({
    namespace,
    queue,
    jobId,
    data: spec.data,
    publishedAt: spec.publishedAt,
    expiresAt: expiresAt ?? null,
    remainTries: tries,
    attributes: spec.attributes,
    state,
  });

  setHandler(jobViewQuery, view);

  if (!resume && state === 'ready' && !spec.indexedByPublisher) notify('queue', readySignal, [{ jobId, epoch, since }]);

  setHandler(
    consumeUpdate,
    async ({ ttr, freezeTries }) => {
      if (!freezeTries) tries--;
      // No `left` signal: the consumer leased this job off the queue's index and settles the lease.
      enter('working');
      workingUntil = Date.now() + ttr * 1000;
      const consumed = view();
      // The update's answer and the main loop's new ttr timer are commands of the same task, and
      // the SDK orders them differently when it runs the update on a job taken from its cache than
      // when it runs it on a job it has just replayed: a history written one way fails the other's
      // replay (nondeterminism), and the job's ttr never fires. Answering only once the loop waits
      // again fixes the order: timer first.
      if (patched('consume-answers-after-timer')) await condition(() => waitingAt >= epoch || TERMINAL.includes(state));
      return consumed;
    },
    {
      validator: (_request: ConsumeRequest) => {
        if (state !== 'ready') throw new Error(`job is ${state}, not ready`);
      },
    },
  );

  setHandler(deleteSignal, () => {
    if (TERMINAL.includes(state)) return;
    leave();
    enter('acked');
  });

  setHandler(destroySignal, () => {
    // The queue dropped its ready entries itself, so there is nobody to tell.
    if (state === 'ready') enter('destroyed');
  });

  setHandler(rewriteSignal, () => {
    rewriteAsked = true;
  });

  setHandler(respawnSignal, ({ ttl }) => {
    if (state !== 'dead') return;
    tries = 1;
    expiresAt = ttl > 0 ? Date.now() + ttl * 1000 : undefined;
    enter('ready');
  });

  while (!TERMINAL.includes(state)) {
    const now = Date.now();
    if (expiresAt !== undefined && now >= expiresAt && state !== 'dead') {
      leave();
      enter('expired');
      break;
    }
    if (state === 'delayed' && now >= readyAt) {
      enter('ready');
      continue;
    }
    if (state === 'working' && now >= workingUntil) {
      // A dead job keeps no ttl: it waits in the dead letter until respawned or deleted, or until
      // its namespace's retention is over.
      if (tries <= 0) {
        expiresAt = undefined;
        deadUntil = spec.deadRetentionMs ? now + spec.deadRetentionMs : undefined;
      }
      enter(tries > 0 ? 'ready' : 'dead');
      continue;
    }
    if (state === 'dead' && deadUntil !== undefined && now >= deadUntil) {
      leave();
      enter('expired');
      break;
    }
    if (renew() && allHandlersFinished()) {
      await Promise.all(outbox);
      return continueAsNew<typeof JobWorkflow>({
        ...spec,
        resume: { state, epoch, since, tries, expiresAt: expiresAt ?? null, workingUntil, ...(deadUntil !== undefined ? { deadUntil } : {}) },
      });
    }
    const deadlines = [
      expiresAt,
      state === 'delayed' ? readyAt : undefined,
      state === 'working' ? workingUntil : undefined,
      state === 'dead' ? deadUntil : undefined,
    ];
    const next = Math.min(...deadlines.filter((d): d is number => d !== undefined));
    const seenEpoch = epoch;
    const changed = () => epoch !== seenEpoch || renew();
    const waiting = Number.isFinite(next) ? condition(changed, Math.max(1, next - now)) : condition(changed);
    waitingAt = seenEpoch;
    await waiting;
  }
  await Promise.all(outbox);
  await condition(allHandlersFinished);
  return state;
}
