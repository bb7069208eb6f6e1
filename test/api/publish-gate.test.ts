import { FerryWorker } from '../../src/workers/worker';
import { OverloadedError, PublishGate } from '../../src/temporal/publish-gate';
import type { FerryUnderTest } from '../helpers/ferry';
import { startFerry } from '../helpers/ferry';
import { eventually } from '../helpers/eventually';
import { Receiver } from '../helpers/receiver';

describe('PublishGate', () => {
  test('reads the backlog at most once per refresh, sharing the reading, and refuses above the bound', async () => {
    let now = 0;
    let backlog = 3;
    let reads = 0;
    const gate = new PublishGate(async () => (reads++, backlog), 10, 1000, () => now);
    await Promise.all([gate.admit(), gate.admit(), gate.admit()]);
    expect(reads).toBe(1);
    backlog = 11;
    now = 999;
    await expect(gate.admit()).resolves.toBeUndefined();
    now = 1000;
    const refused = await gate.admit().catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(OverloadedError);
    expect(refused).toMatchObject({ backlogSeconds: 11, retryAfterSeconds: 5 });
    expect(reads).toBe(2);
  });

  test('a bound of 0 never reads; a failed reading admits', async () => {
    let reads = 0;
    await new PublishGate(async () => (reads++, 1e9), 0).admit();
    expect(reads).toBe(0);
    await expect(new PublishGate(() => Promise.reject(new Error('unavailable')), 1).admit()).resolves.toBeUndefined();
  });
});

describe('publishing while Temporal is behind', () => {
  let ferry: FerryUnderTest;
  let receiver: Receiver;
  let token: string;
  let restarted: FerryWorker | undefined;
  let running: Promise<void> | undefined;

  beforeAll(async () => {
    ferry = await startFerry({ FERRY_PUBLISH_MAX_BACKLOG_S: '1' });
    receiver = await Receiver.start();
    token = await ferry.token('gate');
  }, 120_000);
  afterAll(async () => {
    restarted?.shutdown();
    await running;
    await receiver?.stop();
    await ferry?.stop();
  }, 60_000);

  const publishJob = (body: string, key: string) =>
    ferry.queue(`/api/gate/q?token=${token}`, { method: 'PUT', body, headers: { 'Idempotency-Key': key } });
  const publishEvent = (id: string) =>
    ferry.queue('/push/gate/events', {
      method: 'POST',
      headers: { 'x-token': token, 'content-type': 'application/json' },
      body: JSON.stringify({ id, type: 'gate.tested', data: {} }),
    });

  test('answers 503 with Retry-After and writes nothing, then admits by itself once workers catch up', async () => {
    const created = await ferry.queue('/push/gate/endpoints', {
      method: 'POST',
      headers: { 'x-token': token, 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'sink', url: receiver.script('/sink', 200), eventTypes: ['gate.#'] }),
    });
    expect(created.status).toBe(201);

    // No worker: the next job's first workflow task waits in the task queue.
    ferry.worker.shutdown();
    await eventually(async () => expect(ferry.worker.getState()).toBe('STOPPED'), 60_000, 100);
    const first = await publishJob('first', 'first');
    expect(first.status).toBe(201);
    const { job_id: firstId } = (await first.json()) as { job_id: string };

    // Temporal refreshes backlog statistics every ~5 s: the refusal comes within two refreshes.
    const accepted = ['first'];
    let refused: Response | undefined;
    let attempt = 0;
    await eventually(
      async () => {
        const body = `probe-${++attempt}`;
        const res = await publishJob(body, body);
        if (res.status === 201) accepted.push(body);
        else refused = res;
        expect(res.status).toBe(503);
      },
      20_000,
      500,
    );
    expect(refused!.headers.get('retry-after')).toBe('5');
    const { error } = (await refused!.json()) as { error: string };
    expect(error).toMatch(/^temporal is behind \(workflow tasks wait \d+ s for a worker\), retry later$/);
    expect((await publishEvent('refused-event')).status).toBe(503);
    const batch = await ferry.queue('/push/gate/events/batch', {
      method: 'POST',
      headers: { 'x-token': token, 'content-type': 'application/json' },
      body: JSON.stringify({ events: ['refused-1', 'refused-2'].map((id) => ({ id, type: 'gate.tested', data: {} })) }),
    });
    expect(batch.status).toBe(503);
    // A refused republish keeps the job it would have replaced.
    const republished = await ferry.queue(`/api/gate/q/job/${firstId}?token=${token}`, { method: 'PUT', body: 'replacement' });
    expect(republished.status).toBe(503);

    restarted = await FerryWorker.create({
      connection: ferry.env.nativeConnection,
      client: ferry.env.client,
      namespace: ferry.env.namespace ?? 'default',
      taskQueue: ferry.config.FERRY_TASK_QUEUE,
      config: ferry.config,
    });
    running = restarted.run();
    await eventually(async () => expect((await publishJob('second', 'second')).status).toBe(201), 30_000, 500);
    accepted.push('second');
    expect((await publishEvent('admitted-event')).status).toBe(202);
    await eventually(async () => expect(receiver.to('/sink')).toHaveLength(1), 15_000, 100);

    // Nothing of the refused publishes was written: the queue holds exactly the accepted jobs, the event is unknown.
    for (const id of ['refused-event', 'refused-1', 'refused-2']) {
      expect((await ferry.queue(`/push/gate/events/${id}`, { headers: { 'x-token': token } })).status).toBe(404);
    }

    const consumed = await ferry.queue(`/api/gate/q?token=${token}&count=${accepted.length + 1}&timeout=1`);
    const jobs = (await consumed.json()) as { data: string }[];
    expect(jobs.map((j) => Buffer.from(j.data, 'base64').toString())).toEqual(accepted);
  }, 120_000);
});
