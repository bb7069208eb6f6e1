import { DEFAULT_SETTINGS } from '../../src/api/push-schemas';
import { createSecret } from '../../src/push/signing';
import { PushService } from '../../src/temporal/push-service';
import { RetentionPolicy } from '../../src/temporal/retention';
import { OverloadedError, PublishGate } from '../../src/temporal/publish-gate';
import { newEndpoint } from '../../src/workflows/endpoints.messages';
import type { Endpoint, EndpointSettings } from '../../src/workflows/endpoints.messages';
import { endpointRegistryWorkflowId, pushWorkflowId } from '../../src/workflows/ids';
import type { DeliveryStatus, PushView } from '../../src/workflows/push.messages';
import { pushViewQuery } from '../../src/workflows/push.messages';
import { eventually } from '../helpers/eventually';
import { usePushTestBed } from '../helpers/push-test-bed';
import type { Reply } from '../helpers/receiver';

const taskQueue = 'push-workflow-test';
const ns = 'ts';
const bed = usePushTestBed(taskQueue, {
  FERRY_PUSH_FAILURES_TO_PAUSE: '5',
  FERRY_PUSH_PAUSE_S: '300',
  FERRY_PUSH_DISABLE_AFTER_S: '3600',
  FERRY_PUSH_MAX_RETRY_AFTER_S: '600',
});
let counter = 0;

async function endpoint(settings: Partial<EndpointSettings>, ...replies: Reply[]): Promise<Endpoint> {
  const id = `ep${++counter}`;
  const url = bed.receiver.script(`/${id}`, ...replies);
  const e = newEndpoint({ namespace: ns, id }, { ...DEFAULT_SETTINGS, timeoutMs: 5000, ...settings, url }, createSecret(), Date.now());
  await bed.directory.put(e);
  return e;
}

/** Time moves in steps of this much; the server never skips past a timer, so steps change no timing. */
const STEP = '30s';

/**
 * Publishes to one endpoint and moves the test server's clock until every delivery is over.
 * Time moves only by env.sleep: awaiting a result through the environment's client would let the
 * server skip on to a dead push's 10-year execution timeout (a dead-lettered push keeps running).
 */
async function push(target: Endpoint, id = `ev${++counter}`): Promise<{ status: DeliveryStatus; view: PushView; times: number[] }> {
  await publish(target, id);
  const [view] = await settle([id]);
  return { status: view!.status, view: view!, times: await attemptTimes(id) };
}

const publish = (target: Endpoint, id: string, times: { deliverAt?: number; expiresAt?: number } = {}, type = 'a.b') =>
  bed.pushes.publish(ns, {
    event: { id, type, timestamp: new Date().toISOString(), source: null, correlationId: null, data: null, metadata: null },
    endpoints: [target.id],
    ...times,
  });

const viewOf = (id: string) => bed.plain.workflow.getHandle(pushWorkflowId(ns, id)).query(pushViewQuery);

/** Moves the clock until every delivery of these pushes succeeded, expired or is dead-lettered. */
async function settle(ids: string[]): Promise<PushView[]> {
  for (let step = 0; step < 1000; step++) {
    const views = await Promise.all(ids.map(viewOf));
    if (views.every((v) => v.deliveries.every((d) => d.status === 'push_success' || d.status === 'expired' || d.dead))) return views;
    await bed.env.sleep(STEP);
  }
  throw new Error(`pushes ${ids.join(', ')} did not settle`);
}

/** Workflow times of the registry's `admit` updates: each is a write to the namespace's registry workflow. */
async function admitTimes(): Promise<number[]> {
  const history = await bed.plain.workflow.getHandle(endpointRegistryWorkflowId(ns)).fetchHistory();
  return (history.events ?? [])
    .filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === 'admit')
    .map((e) => Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6));
}

/**
 * When each attempt ran, in workflow time (the server's skipped clock): earlier attempts from the
 * `attempt` signals they send, the last one from its ActivityTaskStarted event.
 */
async function attemptTimes(id: string): Promise<number[]> {
  const history = await bed.plain.workflow.getHandle(pushWorkflowId(ns, id)).fetchHistory();
  const at = (e: { eventTime?: { seconds?: unknown; nanos?: number | null } | null }) => Number(e.eventTime?.seconds ?? 0) * 1000 + Math.floor((e.eventTime?.nanos ?? 0) / 1e6);
  const times: number[] = [];
  const deliveries = new Set<string>();
  for (const e of history.events ?? []) {
    if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'deliverToEndpoint') deliveries.add(String(e.eventId));
    if (e.workflowExecutionSignaledEventAttributes?.signalName === 'attempt') times.push(at(e));
    if (deliveries.has(String(e.activityTaskStartedEventAttributes?.scheduledEventId))) times.push(at(e));
  }
  return times;
}

const gaps = (times: number[]) => times.slice(1).map((t, i) => Math.round((t - times[i]!) / 1000));

describe('PushWorkflow retry timeline (time-skipping)', () => {
  test('the default schedule retries after 10 s, 30 s and 90 s, then dead-letters', async () => {
    const e = await endpoint({}, 503);
    const { status, view, times } = await push(e);
    expect(status).toBe('push_failed');
    expect(gaps(times)).toEqual([10, 30, 90]);
    expect(view.deliveries[0]!.attempts.map((a) => a.attempt)).toEqual([1, 2, 3, 4]);
    expect(view.deliveries[0]!.dead?.held).toBe(false);
    expect(view.deliveries[0]!.dead?.reason).toMatch(/EndpointUnavailable/);
    expect(bed.receiver.to(`/${e.id}`)).toHaveLength(4);
  });

  test('a custom schedule is followed exactly, even when it is not geometric', async () => {
    const e = await endpoint({ retrySchedule: [5, 120, 7] }, 500, 500, 500, 200);
    const { status, times } = await push(e);
    expect(status).toBe('push_success');
    expect(gaps(times)).toEqual([5, 120, 7]);
  });

  test('Retry-After replaces the schedule entry, up to the cap', async () => {
    const e = await endpoint({ retrySchedule: [10, 10] }, { status: 429, headers: { 'retry-after': '45' } }, { status: 503, headers: { 'retry-after': '86400' } }, 200);
    const { status, times } = await push(e);
    expect(status).toBe('push_success');
    expect(gaps(times)).toEqual([45, 600]);
  });

  test('a permanent failure goes to the dead letter at once', async () => {
    const e = await endpoint({}, 422);
    const before = bed.receiver.to(`/${e.id}`).length;
    const { status, view } = await push(e);
    expect(status).toBe('push_failed');
    expect(bed.receiver.to(`/${e.id}`).length - before).toBe(1);
    expect(view.deliveries[0]!.dead?.reason).toMatch(/EndpointRejected.*422/);
  });
});

describe('delayed and expiring events, backoff by parameters (time-skipping)', () => {
  test('a delayed event waits on a durable timer until deliverAt, then is delivered', async () => {
    const e = await endpoint({}, 200);
    const id = `ev${++counter}`;
    const deliverAt = (await bed.env.currentTimeMs()) + 90_000;
    await publish(e, id, { deliverAt });
    const waiting = await viewOf(id);
    expect(waiting).toMatchObject({ status: 'pending', deliverAt });
    expect(bed.receiver.to(`/${e.id}`)).toHaveLength(0);
    const [view] = await settle([id]);
    expect(view!.status).toBe('push_success');
    const [first] = await attemptTimes(id);
    expect(first! - deliverAt).toBeGreaterThanOrEqual(0);
    expect(first! - deliverAt).toBeLessThan(1000);
  });

  test('a delivery that cannot be made before expiresAt expires: no later attempt, no dead letter, the push ends', async () => {
    // The default schedule tries at 0, 10 and 40 s; the next try (at 130 s) would come after the expiry at 60 s.
    const e = await endpoint({}, 503);
    const id = `ev${++counter}`;
    const expiresAt = (await bed.env.currentTimeMs()) + 60_000;
    await publish(e, id, { expiresAt });
    const [view] = await settle([id]);
    const delivery = view!.deliveries[0]!;
    expect(view!.status).toBe('expired');
    expect(delivery).toMatchObject({ status: 'expired', dead: null });
    expect(delivery.attempts.map((a) => a.attempt)).toEqual([1, 2, 3]);
    expect(delivery.expiredAt).toBeLessThanOrEqual(expiresAt);
    // The third attempt failed as one to retry, so it told its time by signal as well as by its start event.
    expect(gaps((await attemptTimes(id)).slice(0, 3))).toEqual([10, 30]);
    await bed.env.sleep(STEP);
    expect((await bed.plain.workflow.getHandle(pushWorkflowId(ns, id)).describe()).status.name).toBe('COMPLETED');
  });

  test('an expiry also ends a wait behind a paused endpoint', async () => {
    const e = await endpoint({ retrySchedule: [1, 1, 1, 1, 1, 1, 1, 1] }, 503);
    // Five failures pause the endpoint for 300 s; the expiry at 120 s comes first.
    const id = `ev${++counter}`;
    const expiresAt = (await bed.env.currentTimeMs()) + 120_000;
    await publish(e, id, { expiresAt });
    const [view] = await settle([id]);
    expect(view!.deliveries[0]).toMatchObject({ status: 'expired', dead: null });
    expect(view!.deliveries[0]!.expiredAt! - expiresAt).toBeGreaterThanOrEqual(0);
    expect(view!.deliveries[0]!.expiredAt! - expiresAt).toBeLessThan(1000);
    await bed.directory.setEnabled({ namespace: ns, id: e.id }, false, 'end of test');
  });

  test('a backoff by parameters asks Temporal for exactly 250, 500, 1000, 1000 ms, and Temporal waits no less', async () => {
    const e = await endpoint({ backoff: { initialDelayMs: 250, maxDelayMs: 1000, factor: 2, maxRetries: 4 } }, 500);
    const { status, view, times } = await push(e);
    expect(status).toBe('push_failed');
    // What Ferry asked Temporal for, exactly; then what Temporal did: never sooner, and within the
    // dispatch of an activity task to the worker (tens of ms here, 130 ms seen on a cold worker).
    expect(view.deliveries[0]!.attempts.map((a) => a.nextRetryMs)).toEqual([250, 500, 1000, 1000, undefined]);
    const msGaps = times.slice(1).map((t, i) => t - times[i]!);
    [250, 500, 1000, 1000].forEach((expected, i) => {
      expect(msGaps[i]).toBeGreaterThanOrEqual(expected - 5);
      expect(msGaps[i]).toBeLessThan(expected + 250);
    });
  });
});

describe('retention (time-skipping)', () => {
  test('a dead delivery is dropped a retention after it failed, and its push ends; a delivery that succeeded is not touched', async () => {
    const retained = new PushService(bed.env.client, taskQueue, bed.directory, { retention: new RetentionPolicy(86_400_000) });
    const dead = await endpoint({}, 422);
    const ok = await endpoint({}, 200);
    const id = `ev${++counter}`;
    await retained.publish(ns, {
      event: { id, type: 'a.b', timestamp: new Date().toISOString(), source: null, correlationId: null, data: null, metadata: null },
      endpoints: [dead.id, ok.id],
    });
    const [view] = await settle([id]);
    const failedAt = view!.deliveries.find((d) => d.endpointId === dead.id)!.dead!.at;
    const handle = bed.plain.workflow.getHandle(pushWorkflowId(ns, id));
    await bed.env.sleep('23h');
    expect((await handle.describe()).status.name).toBe('RUNNING');
    await bed.env.sleep('2h');
    expect((await handle.describe()).status.name).toBe('COMPLETED');
    const after = await viewOf(id);
    const dropped = after.deliveries.find((d) => d.endpointId === dead.id)!;
    expect(dropped).toMatchObject({ status: 'push_failed', dead: null });
    expect(dropped.droppedAt! - failedAt).toBeGreaterThanOrEqual(86_400_000);
    expect(dropped.droppedAt! - failedAt).toBeLessThan(86_400_000 + 1000);
    const delivered = after.deliveries.find((d) => d.endpointId === ok.id)!;
    expect([delivered.status, delivered.droppedAt]).toEqual(['push_success', undefined]);
  });
});

describe('dead-letter sinks (time-skipping)', () => {
  test('a delivery dead after its schedule reaches the sinks of its type once; a dead delivery to a sink goes no further', async () => {
    const sink = await endpoint({ deadLetters: true, eventTypes: ['dl.#'] }, 200);
    const brokenSink = await endpoint({ deadLetters: true, eventTypes: ['dl.#'] }, 422);
    const otherSink = await endpoint({ deadLetters: true, eventTypes: ['other.#'] }, 200);
    const e = await endpoint({ retrySchedule: [10, 10] }, 503);
    const id = `ev${++counter}`;
    await publish(e, id, {}, 'dl.order');
    await settle([id]);
    for (let step = 0; step < 100 && (bed.receiver.to(`/${sink.id}`).length === 0 || bed.receiver.to(`/${brokenSink.id}`).length === 0); step++) await bed.env.sleep(STEP);
    const [hit] = bed.receiver.to(`/${sink.id}`);
    const body = JSON.parse(hit!.body) as { id: string; type: string; metadata: { deadLetter: Record<string, unknown> } };
    expect(body.type).toBe('dl.order');
    expect(body.metadata.deadLetter).toEqual({
      eventId: id,
      endpointId: e.id,
      host: new URL(bed.receiver.url).host,
      queue: null,
      error: expect.stringMatching(/EndpointUnavailable/) as string,
      failedAt: expect.any(String) as string,
      attempts: 3,
    });
    expect(hit!.headers['webhook-id']).toBe(body.id);
    // The sink's copy was dead-lettered at the broken sink; that death is not routed again.
    await settle([body.id]);
    for (let step = 0; step < 10; step++) await bed.env.sleep(STEP);
    expect([bed.receiver.to(`/${sink.id}`).length, bed.receiver.to(`/${brokenSink.id}`).length, bed.receiver.to(`/${otherSink.id}`).length]).toEqual([1, 1, 0]);
    for (const s of [sink, brokenSink, otherSink]) await bed.directory.remove({ namespace: ns, id: s.id });
  });
});

describe('circuit breaker (time-skipping)', () => {
  test('an endpoint failing 5 times in a row pauses; deliveries wait without using tries; a probe resumes it', async () => {
    // 5 failures open the circuit; the delivery then waits 300 s and the probe succeeds.
    const e = await endpoint({ retrySchedule: [1, 1, 1, 1, 1, 1, 1] }, 500, 500, 500, 500, 500, 200);
    const { status, view, times } = await push(e);
    expect(status).toBe('push_success');
    const attempts = view.deliveries[0]!.attempts;
    // Six attempts, numbered without gaps: the pause did not use a try.
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2, 3, 4, 5, 6]);
    // The sixth attempt waited for the pause (300 s from the fifth failure), not for the 1 s schedule.
    expect(gaps(times)).toEqual([1, 1, 1, 1, 300]);
    await eventually(async () => {
      await bed.directory.refresh();
      expect(bed.directory.get(ns, e.id)?.health.state).toBe('healthy');
    });
  });

  test('deliveries published during a pause wait on the worker\'s copy, not on the registry, and go after the probe', async () => {
    const e = await endpoint({ retrySchedule: [1, 1, 1, 1, 1, 1, 1] }, 500, 500, 500, 500, 500, 200);
    const first = `ev${++counter}`;
    await publish(e, first);
    // Five failures a second apart open the circuit.
    await eventually(async () => expect(bed.receiver.to(`/${e.id}`)).toHaveLength(5), 10_000, 20);
    await bed.env.sleep('10s');
    const admitsBefore = (await admitTimes()).length;
    const later = [`ev${++counter}`, `ev${++counter}`, `ev${++counter}`];
    for (const id of later) await publish(e, id);
    const views = await settle([first, ...later]);
    expect(views.map((v) => v.status)).toEqual(['push_success', 'push_success', 'push_success', 'push_success']);
    // Nobody was sent anything during the pause, and nobody asked the registry before it ended.
    const hits = bed.receiver.to(`/${e.id}`);
    expect(hits).toHaveLength(9);
    const pausedUntil = (await attemptTimes(first))[4]! + 300_000;
    const admits = (await admitTimes()).slice(admitsBefore);
    expect(admits.length).toBeGreaterThan(0);
    expect(admits.length).toBeLessThanOrEqual(4);
    expect(Math.min(...admits)).toBeGreaterThanOrEqual(pausedUntil - 1000);
    // The later deliveries used no try while they waited: each took one attempt.
    expect(views.slice(1).map((v) => v.deliveries[0]!.attempts.map((a) => a.attempt))).toEqual([[1], [1], [1]]);
  });

  test('a receiver down for 10 minutes, then back: every event is delivered, none dead-lettered', async () => {
    // The default schedule (10 s, 30 s, 90 s) alone would dead-letter everything after 130 s.
    const e = await endpoint({ retrySchedule: DEFAULT_SETTINGS.retrySchedule }, 503);
    const ids = Array.from({ length: 20 }, () => `ev${++counter}`);
    const downSince = await bed.env.currentTimeMs();
    await Promise.all(ids.map((id) => publish(e, id)));
    while ((await bed.env.currentTimeMs()) - downSince < 600_000) await bed.env.sleep(STEP);
    const duringOutage = bed.receiver.to(`/${e.id}`).length;
    bed.receiver.script(`/${e.id}`, 200);
    const views = await settle(ids);
    expect(views.map((v) => v.status)).toEqual(ids.map(() => 'push_success'));
    const attempts = views.map((v) => v.deliveries[0]!.attempts.length);
    // While down: the 20 first attempts, then only probes, not 20 schedules of retries.
    expect(duringOutage).toBeLessThan(20 + 10);
    expect(Math.max(...attempts)).toBeLessThanOrEqual(DEFAULT_SETTINGS.retrySchedule.length + 1);
    console.log(`receiver down 600 s: ${duringOutage} requests during the outage, ${bed.receiver.to(`/${e.id}`).length} in all, 20/20 delivered; attempts per event ${Math.min(...attempts)}–${Math.max(...attempts)}`);
  });

  test('an endpoint failing for longer than the disable period is disabled; its deliveries are held', async () => {
    const e = await endpoint({ retrySchedule: Array(12).fill(600) as number[] }, 500);
    const { status, view } = await push(e);
    expect(status).toBe('push_failed');
    expect(view.deliveries[0]!.dead?.held).toBe(true);
    expect(view.deliveries[0]!.dead?.reason).toMatch(/disabled.*every attempt failed since/);
    await bed.directory.refresh();
    expect(bed.directory.get(ns, e.id)?.enabled).toBe(false);
    expect(bed.directory.get(ns, e.id)?.disabledReason).toMatch(/every attempt failed/);
  });
});

test('a batch is admitted once: a gate that closes halfway through starts all of it, the next batch none', async () => {
  const target = await endpoint({});
  let readings = 0;
  // Open at the first reading, closed from the second; a 0 ms refresh reads on every admission.
  const gated = new PushService(bed.env.client, taskQueue, bed.directory, { gate: new PublishGate(async () => (readings++ === 0 ? 0 : 60), 10, 0) });
  const event = (id: string) => ({
    event: { id, type: 'a.b', timestamp: new Date().toISOString(), source: null, correlationId: null, data: null, metadata: null },
    endpoints: [target.id],
  });
  const published = await gated.publishAll(ns, [event('gated-1'), event('gated-2')]);
  expect(published.map((p) => p.id)).toEqual(['gated-1', 'gated-2']);
  await expect(gated.publishAll(ns, [event('gated-3')])).rejects.toBeInstanceOf(OverloadedError);
  expect(readings).toBe(2);
  await expect(bed.plain.workflow.getHandle(pushWorkflowId(ns, 'gated-3')).describe()).rejects.toThrow(/not found/i);
  expect((await settle(['gated-1', 'gated-2'])).map((v) => v.deliveries[0]!.status)).toEqual(['push_success', 'push_success']);
});
