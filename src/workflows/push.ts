import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  condition,
  getExternalWorkflowHandle,
  log,
  metricMeter,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  TimeoutFailure,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createPushActivities } from '../activities/push';
import {
  FerryDeadEndpoints,
  FerryEndpoints,
  FerryEventType,
  FerryHeldEndpoints,
  FerryNamespace,
  FerryState,
  FerryStateSince,
  orderingWorkflowId,
} from './ids';
import type { AttemptRecord, DeadSelection, DeliveryStatus, DeliveryTarget, DeliveryView, PushInput, PushView } from './push.messages';
import {
  attemptSignal,
  DeliveryFailure,
  discardUpdate,
  doneSignal,
  pushViewQuery,
  repushSignal,
  repushUpdate,
  turnSignal,
} from './push.messages';

type PushActivities = ReturnType<typeof createPushActivities>;

const { enqueueOrdered } = proxyActivities<PushActivities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
});

/** About 5 minutes of tries: a sink that cannot be published to leaves the delivery in this dead letter only. */
const { routeDeadDelivery } = proxyActivities<PushActivities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 },
});

/** Longest a delivery waits behind a paused endpoint before it checks again. */
const MAX_PAUSED_WAIT_MS = 3_600_000;

const deliveries = metricMeter.createCounter('ferry_push_deliveries', undefined, 'Deliveries finished, by outcome');

/** Failures that end a delivery at once; everything else was retried by the activity's retry policy. */
const FINAL_FAILURES = [DeliveryFailure.rejected, DeliveryFailure.gone, DeliveryFailure.forbidden, DeliveryFailure.disabled, DeliveryFailure.missing, DeliveryFailure.paused];

/** Ms before each retry; pushes published before ms delays existed carry whole seconds. */
const delaysOf = (target: DeliveryTarget): number[] => target.retryDelaysMs ?? target.retrySchedule.map((s) => s * 1000);

/**
 * The activity for the attempts still left of an endpoint's schedule. Temporal's retry policy
 * carries the schedule: each failed attempt also names its exact next delay (the schedule's entry or
 * the endpoint's Retry-After), which the policy's geometric intervals only approximate. Before an
 * expiry, the schedule-to-close timeout ends the retries at the expiry.
 */
function attemptsFor(target: DeliveryTarget, attemptsBefore: number, expiresInMs: number | null) {
  const remaining = delaysOf(target).slice(attemptsBefore).map((ms) => Math.max(1, ms));
  const first = remaining[0] ?? 1000;
  return proxyActivities<PushActivities>({
    ...(target.taskQueue ? { taskQueue: target.taskQueue } : {}),
    // The activity ends the HTTP request itself at the endpoint's timeout; this catches lost workers.
    startToCloseTimeout: target.timeoutMs + 10_000,
    ...(expiresInMs === null ? {} : { scheduleToCloseTimeout: expiresInMs }),
    retry: {
      initialInterval: first,
      backoffCoefficient: remaining.length > 1 ? Math.max(1, remaining[1]! / first) : 1,
      maximumInterval: Math.max(first, ...remaining),
      maximumAttempts: remaining.length + 1,
      nonRetryableErrorTypes: FINAL_FAILURES,
    },
  }).deliverToEndpoint;
}

const applicationFailure = (err: unknown): ApplicationFailure | undefined =>
  err instanceof ActivityFailure && err.cause instanceof ApplicationFailure ? err.cause : undefined;

/** The schedule-to-close timeout ended the retries: the delivery's expiry came (or its next retry would come after it). */
const ranOutOfTime = (err: unknown): boolean =>
  err instanceof ActivityFailure && (err.retryState === 'TIMEOUT' || err.cause instanceof TimeoutFailure);

const matches = (endpointId: string, dead: { held: boolean }, selection: DeadSelection = {}) =>
  (!selection.endpoints || selection.endpoints.includes(endpointId)) && (!selection.heldOnly || dead.held);

/**
 * One event and its deliveries, one per endpoint, in parallel. A delivery that fails for good stays
 * here, dead-lettered with its reason, until it is re-pushed or discarded: the workflow ends only
 * when no delivery is running or dead, so nothing published is ever dropped.
 */
export async function PushWorkflow(input: PushInput): Promise<DeliveryStatus> {
  const { namespace, event, orderingKey } = input;
  const { workflowId } = workflowInfo();
  const views = new Map<string, DeliveryView>(
    input.targets.map((t) => [t.endpointId, { endpointId: t.endpointId, status: 'pending', attempts: [], pausedUntil: null, dead: null }]),
  );
  const targets = new Map(input.targets.map((t) => [t.endpointId, t]));
  const awaitingTurn = new Set(orderingKey ? input.targets.filter((t) => t.ordered).map((t) => t.endpointId) : []);
  const turns = new Set<string>();
  let active = 0;

  const overall = (): DeliveryStatus => {
    const all = [...views.values()];
    if (all.some((d) => d.status === 'pushing')) return 'pushing';
    if (all.some((d) => d.status === 'pending')) return all.some((d) => d.status !== 'pending') ? 'pushing' : 'pending';
    if (all.some((d) => d.status === 'push_failed')) return 'push_failed';
    return all.some((d) => d.status === 'expired') ? 'expired' : 'push_success';
  };
  let published: string | undefined;
  let publishedDead = '{}';
  /**
   * Keeps the Web UI's view (search attributes) and the dead letter's reasons (memo) current, with
   * one upsert per change: each is a history event.
   */
  const publishState = () => {
    const status = overall();
    const dead = [...views.values()].filter((d) => d.dead);
    const key = JSON.stringify([status, dead.map((d) => [d.endpointId, d.dead!.held])]);
    if (key === published) return;
    upsertSearchAttributes([
      // The first upsert also says what the push is, once.
      ...(published === undefined
        ? [
            { key: FerryNamespace, value: namespace },
            { key: FerryEventType, value: event.type },
            { key: FerryEndpoints, value: input.targets.map((t) => t.endpointId) },
          ]
        : []),
      { key: FerryState, value: status },
      { key: FerryStateSince, value: Date.now() },
      { key: FerryDeadEndpoints, value: dead.map((d) => d.endpointId) },
      { key: FerryHeldEndpoints, value: dead.filter((d) => d.dead!.held).map((d) => d.endpointId) },
    ]);
    published = key;
    const memo = JSON.stringify(Object.fromEntries(dead.map((d) => [d.endpointId, d.dead])));
    if (memo !== publishedDead) {
      upsertMemo({ dead: JSON.parse(memo) as unknown });
      publishedDead = memo;
    }
  };

  const ordering = (endpointId: string) => getExternalWorkflowHandle(orderingWorkflowId(namespace, endpointId, orderingKey ?? ''));
  const giveBackTurn = (endpointId: string) => ordering(endpointId).signal(doneSignal, { workflowId }).catch(() => undefined);

  const record = (view: DeliveryView, attempt: AttemptRecord) => {
    if (!view.attempts.some((a) => a.attempt === attempt.attempt && a.startedAt === attempt.startedAt)) view.attempts.push(attempt);
  };

  const expire = (view: DeliveryView, target: DeliveryTarget) => {
    view.status = 'expired';
    view.pausedUntil = null;
    view.expiredAt = Date.now();
    deliveries.add(1, { namespace, endpoint: target.endpointId, outcome: 'expired' });
  };

  /**
   * Runs one endpoint's delivery until it succeeds, fails for good or, when `expiresAt` is set,
   * until that time comes.
   */
  const deliver = async (target: DeliveryTarget, ordered: boolean, expiresAt: number | null): Promise<void> => {
    const view = views.get(target.endpointId)!;
    const timeLeft = () => (expiresAt === null ? null : expiresAt - Date.now());
    if (ordered) {
      await enqueueOrdered({ namespace, endpointId: target.endpointId, key: orderingKey!, workflowId });
      const left = timeLeft();
      if (left === null) await condition(() => turns.has(target.endpointId));
      else if (!(await condition(() => turns.has(target.endpointId), Math.max(1, left)))) {
        expire(view, target);
        awaitingTurn.delete(target.endpointId);
        publishState();
        return;
      }
    }
    let attemptsBefore = 0;
    let pausedWaits = 0;
    try {
      for (;;) {
        const left = timeLeft();
        if (left !== null && left <= 0) {
          expire(view, target);
          return;
        }
        view.status = 'pushing';
        view.pausedUntil = null;
        publishState();
        try {
          const attempt = attemptsFor(target, attemptsBefore, left);
          const result = await attempt({
            namespace,
            endpointId: target.endpointId,
            workflowId,
            messageId: event.id,
            retrySchedule: target.retrySchedule,
            ...(target.retryDelaysMs ? { retryDelaysMs: target.retryDelaysMs } : {}),
            attemptsBefore,
            registryVersion: input.registryVersion,
          });
          record(view, result);
          view.status = 'push_success';
          deliveries.add(1, { namespace, endpoint: target.endpointId, outcome: 'success' });
          return;
        } catch (err) {
          const failure = applicationFailure(err);
          if (failure?.type === DeliveryFailure.paused) {
            const { until, attemptsUsed } = failure.details?.[0] as { until: number; attemptsUsed: number };
            const failed = failure.details?.[1] as AttemptRecord | undefined;
            if (failed) record(view, failed);
            attemptsBefore = attemptsUsed;
            view.status = 'pending';
            // Each wait is a timer and an activity in this workflow's history: behind a pause that
            // lasts days, a delivery checks back at doubling intervals (up to an hour), not every pause.
            const pause = Math.max(1, until - Date.now());
            const doubled = patched('paused-waits-double') ? Math.max(pause, Math.min(MAX_PAUSED_WAIT_MS, pause * 2 ** pausedWaits)) : pause;
            const wait = expiresAt === null ? doubled : Math.max(1, Math.min(doubled, expiresAt - Date.now()));
            pausedWaits++;
            view.pausedUntil = Date.now() + wait;
            publishState();
            await sleep(wait);
            continue;
          }
          const last = failure?.details?.[0] as AttemptRecord | undefined;
          if (last?.attempt !== undefined) record(view, last);
          if (expiresAt !== null && ranOutOfTime(err)) {
            expire(view, target);
            return;
          }
          const held = failure?.type === DeliveryFailure.disabled;
          const reason = failure ? `${failure.type ?? 'Error'}: ${failure.message}` : `${(err as Error).message}`;
          view.status = 'push_failed';
          view.dead = { reason, held, at: Date.now(), attempts: view.attempts.length };
          deliveries.add(1, { namespace, endpoint: target.endpointId, outcome: held ? 'held' : 'dead' });
          return;
        }
      }
    } finally {
      publishState();
      if (ordered) {
        awaitingTurn.delete(target.endpointId);
        await giveBackTurn(target.endpointId);
      }
    }
  };

  /** A delivery that failed for good (not one held for a disabled endpoint) goes on to the namespace's dead-letter sinks. */
  const routeIfDead = async (endpointId: string) => {
    const { dead } = views.get(endpointId)!;
    if (!dead || dead.held || input.deadLetterOf || !patched('dead-letter-routes')) return;
    try {
      await routeDeadDelivery({ namespace, workflowId, endpointId, reason: dead.reason, failedAt: dead.at, attempts: dead.attempts ?? 0 });
    } catch (err) {
      // The delivery stays in this dead letter whatever happens to its copy.
      log.warn('could not route a dead delivery to the dead-letter sinks', { endpointId, error: String(err) });
    }
  };

  const run = (target: DeliveryTarget, ordered: boolean, expiresAt: number | null) => {
    active++;
    void deliver(target, ordered, expiresAt).then(() => routeIfDead(target.endpointId)).finally(() => {
      active--;
    });
  };

  const repush = (selection: DeadSelection = {}): number => {
    let count = 0;
    for (const view of views.values()) {
      if (!view.dead || !matches(view.endpointId, view.dead, selection)) continue;
      view.dead = null;
      view.status = 'pending';
      count++;
      // A re-push is out of order by nature: it does not wait for a turn again. Asked for by hand,
      // it is not cut short by the event's expiry either.
      run(targets.get(view.endpointId)!, false, null);
    }
    publishState();
    return count;
  };
  const discard = (selection: DeadSelection = {}): number => {
    let count = 0;
    for (const view of views.values()) {
      if (!view.dead || !matches(view.endpointId, view.dead, selection)) continue;
      view.dead = null;
      count++;
    }
    publishState();
    return count;
  };

  const settled = () => active === 0 && [...views.values()].every((d) => d.dead === null);
  /**
   * Waits until nothing runs and nothing is dead, dropping each dead delivery `retentionMs` after it
   * failed: a dead letter nobody looks at ends with its retention instead of running for ever.
   */
  const dropDeadAfter = async (retentionMs: number) => {
    for (;;) {
      const dead = [...views.values()].filter((d) => d.dead);
      const deadSet = JSON.stringify(dead.map((d) => [d.endpointId, d.dead!.at]));
      const changed = () => settled() || JSON.stringify([...views.values()].filter((d) => d.dead).map((d) => [d.endpointId, d.dead!.at])) !== deadSet;
      if (dead.length === 0) await condition(changed);
      else await condition(changed, Math.max(1, Math.min(...dead.map((d) => d.dead!.at)) + retentionMs - Date.now()));
      if (settled()) return;
      for (const view of views.values()) {
        if (!view.dead || view.dead.at + retentionMs > Date.now()) continue;
        view.dead = null;
        view.droppedAt = Date.now();
        deliveries.add(1, { namespace, endpoint: view.endpointId, outcome: 'dropped' });
      }
      publishState();
    }
  };

  setHandler(pushViewQuery, (): PushView => ({
    namespace,
    event,
    orderingKey,
    deliverAt: input.deliverAt ?? null,
    expiresAt: input.expiresAt ?? null,
    status: overall(),
    deliveries: [...views.values()],
  }));
  setHandler(attemptSignal, ({ endpointId, record: attempt }) => {
    const view = views.get(endpointId);
    if (view) record(view, attempt);
  });
  setHandler(turnSignal, ({ endpointId }) => {
    if (awaitingTurn.has(endpointId)) turns.add(endpointId);
    else void giveBackTurn(endpointId);
  });
  setHandler(repushSignal, (selection) => void repush(selection));
  setHandler(repushUpdate, repush);
  setHandler(discardUpdate, discard);

  // Ordered deliveries start by waiting: the push is visible as pending until its turn comes, and a
  // delayed event until its time: a durable timer.
  publishState();
  const { deliverAt } = input;
  if (deliverAt && deliverAt > Date.now()) await sleep(deliverAt - Date.now());
  for (const target of input.targets) run(target, awaitingTurn.has(target.endpointId), input.expiresAt ?? null);
  if (input.retentionMs) await dropDeadAfter(input.retentionMs);
  else await condition(settled);
  await condition(allHandlersFinished);
  return overall();
}
