import type { WorkflowClientInterceptor } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import { Client, ServiceError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { JobQueue } from '../../src/temporal/job-queue';
import { RetentionPolicy } from '../../src/temporal/retention';
import { FerryWorker } from '../../src/workers/worker';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../../src/activities';
import { deadLetterWorkflowId, indexTaskQueue, jobWorkflowId, queueWorkflowId } from '../../src/workflows/ids';
import type { JobState, JobView } from '../../src/workflows/job.messages';
import { awaitReadyUpdate, leaseUpdate, statsQuery } from '../../src/workflows/queue.messages';
import { rewriteSignal } from '../../src/workflows/rewrite.messages';
import { testDataConverter } from '../helpers/codec';
import { eventually } from '../helpers/eventually';
import { createTimeSkippingEnv } from '../helpers/temporal';

const { EventType } = temporal.api.enums.v1;
const taskQueue = 'job-workflow-test';
const ns = 'test';
let env: TestWorkflowEnvironment;
let worker: FerryWorker;
let running: Promise<void>;
let jobs: JobQueue;
let queueCounter = 0;

beforeAll(async () => {
  env = await createTimeSkippingEnv();
  worker = await FerryWorker.create({
    connection: env.nativeConnection,
    client: env.client,
    namespace: env.namespace ?? 'default',
    taskQueue,
  });
  running = worker.run();
  jobs = new JobQueue(env.client, taskQueue);
});

afterAll(async () => {
  worker.shutdown();
  await running;
  await env.teardown();
});

/** One line per event (id, type, signal/update name): what a failed replay needs to be understood. */
function eventList(history: Awaited<ReturnType<WorkflowHandle['fetchHistory']>>): string {
  return (history.events ?? [])
    .map((e) => {
      const name = e.workflowExecutionSignaledEventAttributes?.signalName ?? e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name;
      return `${String(e.eventId)} ${String(EventType[e.eventType ?? 0]).replace('EVENT_TYPE_', '')}${name ? ` ${name}` : ''}`;
    })
    .join('\n');
}

/** Each test gets its own queue so their indexes never meet. */
const freshQueue = () => `q${++queueCounter}`;

async function publish(queue: string, options: { delay?: number; ttl?: number; tries?: number; body?: string } = {}) {
  const { jobIds } = await jobs.publish({
    namespace: ns,
    queue,
    bodies: [Buffer.from(options.body ?? 'hello')],
    delay: options.delay ?? 0,
    ttl: options.ttl ?? 0,
    tries: options.tries ?? 1,
  });
  return jobIds[0]!;
}

const consume = (queues: string[], ttr = 30, options: { count?: number; freezeTries?: boolean } = {}) =>
  jobs.consume({ namespace: ns, queues, ttr, timeout: 0, count: options.count ?? 1, freezeTries: options.freezeTries ?? false });

const state = async (queue: string, jobId: string): Promise<JobState | undefined> =>
  (await jobs.peekJob(ns, queue, jobId))?.state;

/**
 * How a job ended. Read through a plain client: the test environment's client lets the server skip
 * time while it awaits a result, and the server would then run on to the next timer of some other
 * workflow (it gives every workflow a 10-year execution timeout). Time moves only by env.sleep here.
 */
const result = (queue: string, jobId: string) =>
  new Client({ connection: env.connection, namespace: env.namespace, dataConverter: testDataConverter }).workflow.getHandle(jobWorkflowId(ns, queue, jobId)).result();

/** A client whose calls go through `interceptor` first: how a test plays a slow or failing server. */
const clientWith = (interceptor: WorkflowClientInterceptor) =>
  new Client({ connection: env.connection, namespace: env.namespace, dataConverter: testDataConverter, interceptors: { workflow: [interceptor] } });

describe('JobWorkflow and its queue indexes (time-skipping)', () => {
  test('a delayed job becomes ready when its delay has passed, not before', async () => {
    const queue = freshQueue();
    const jobId = await publish(queue, { delay: 30 });
    expect(await state(queue, jobId)).toBe('delayed');
    expect(await jobs.size(ns, queue)).toBe(0);
    expect(await consume([queue])).toEqual([]);

    await env.sleep('29s');
    expect(await state(queue, jobId)).toBe('delayed');
    await env.sleep('2s');
    await eventually(async () => expect(await jobs.size(ns, queue)).toBe(1));
    expect(await state(queue, jobId)).toBe('ready');
    expect((await jobs.peekQueue(ns, queue))?.jobId).toBe(jobId);
  });

  test('a rewrite continues a job as new and keeps its timers and state exact: delay, ttr, tries, ttl', async () => {
    const queue = freshQueue();
    const handle = (jobId: string) => env.client.workflow.getHandle(jobWorkflowId(ns, queue, jobId));
    const rewrite = async (jobId: string) => {
      const before = (await handle(jobId).describe()).runId;
      await handle(jobId).signal(rewriteSignal);
      await eventually(async () => expect((await handle(jobId).describe()).runId).not.toBe(before));
    };
    const delayed = await publish(queue, { delay: 30, ttl: 100, tries: 2 });
    await env.sleep('10s');
    await rewrite(delayed);
    expect(await state(queue, delayed)).toBe('delayed');
    await env.sleep('19s');
    expect(await state(queue, delayed)).toBe('delayed');
    await env.sleep('2s');
    await eventually(async () => expect(await state(queue, delayed)).toBe('ready'));

    const [working] = await consume([queue], 20);
    expect(working).toMatchObject({ jobId: delayed, remainTries: 1 });
    await rewrite(delayed);
    expect(await jobs.peekJob(ns, queue, delayed)).toMatchObject({ state: 'working', remainTries: 1, expiresAt: working!.expiresAt });
    await env.sleep('19s');
    expect(await state(queue, delayed)).toBe('working');
    await env.sleep('2s');
    await eventually(async () => expect(await state(queue, delayed)).toBe('ready'));
    expect((await consume([queue], 20))[0]).toMatchObject({ jobId: delayed, remainTries: 0, data: Buffer.from('hello').toString('base64') });
  });

  test('consume moves a ready job to working, spends a try, and ack ends the workflow', async () => {
    const queue = freshQueue();
    const jobId = await publish(queue, { tries: 3, ttl: 600, body: 'payload' });
    const [job] = await consume([queue]);
    expect(job).toMatchObject<Partial<JobView>>({
      jobId,
      queue,
      namespace: ns,
      data: Buffer.from('payload').toString('base64'),
      remainTries: 2,
      state: 'working',
    });
    expect(job!.expiresAt! - job!.publishedAt).toBe(600_000);
    expect(await jobs.size(ns, queue)).toBe(0);
    await jobs.delete(ns, queue, jobId);
    expect(await result(queue, jobId)).toBe('acked');
    expect(await jobs.peekJob(ns, queue, jobId)).toBeUndefined();
  });

  test('ttr expiry returns the job to ready while tries are left, then moves it to the dead letter', async () => {
    const queue = freshQueue();
    const jobId = await publish(queue, { tries: 2, ttl: 3600 });
    expect((await consume([queue], 10))[0]?.remainTries).toBe(1);

    await env.sleep('9s');
    expect(await state(queue, jobId)).toBe('working');
    await env.sleep('2s');
    await eventually(async () => expect(await jobs.size(ns, queue)).toBe(1));
    expect(await state(queue, jobId)).toBe('ready');

    expect((await consume([queue], 10))[0]?.remainTries).toBe(0);
    await env.sleep('11s');
    await eventually(async () => expect(await jobs.deadLetter(ns, queue)).toEqual({ size: 1, head: [jobId] }));
    const dead = await jobs.peekJob(ns, queue, jobId);
    expect(dead).toMatchObject({ state: 'dead', expiresAt: null, remainTries: 0 });
    expect(await jobs.size(ns, queue)).toBe(0);

    // A dead job has no ttl: an hour later it is still there.
    await env.sleep('2h');
    expect(await state(queue, jobId)).toBe('dead');
  });

  test('with a dead-letter retention, a dead job is dropped that long after it died', async () => {
    const retained = new JobQueue(env.client, taskQueue, { retention: new RetentionPolicy(0, [[ns, 86_400_000]]) });
    const queue = freshQueue();
    const { jobIds } = await retained.publish({ namespace: ns, queue, bodies: [Buffer.from('x')], delay: 0, ttl: 0, tries: 1 });
    expect(await consume([queue], 10)).toHaveLength(1);
    await env.sleep('11s');
    await eventually(async () => expect(await jobs.deadLetter(ns, queue)).toEqual({ size: 1, head: jobIds }));
    await env.sleep('23h');
    expect(await state(queue, jobIds[0]!)).toBe('dead');
    await env.sleep('1h');
    expect(await result(queue, jobIds[0]!)).toBe('expired');
    await eventually(async () => expect((await jobs.deadLetter(ns, queue)).size).toBe(0));
  });

  test('respawn makes the oldest dead job ready with one try and the new ttl', async () => {
    const queue = freshQueue();
    const first = await publish(queue, { ttl: 3600 });
    const second = await publish(queue, { ttl: 3600 });
    await consume([queue], 5);
    await consume([queue], 5);
    await env.sleep('6s');
    await eventually(async () => expect((await jobs.deadLetter(ns, queue)).size).toBe(2));
    expect((await jobs.deadLetter(ns, queue)).head).toEqual([first]);

    expect(await jobs.respawn(ns, queue, 1, 100)).toBe(1);
    await eventually(async () => expect(await jobs.size(ns, queue)).toBe(1));
    expect(await jobs.deadLetter(ns, queue)).toEqual({ size: 1, head: [second] });
    const respawned = await jobs.peekJob(ns, queue, first);
    expect(respawned).toMatchObject({ state: 'ready', remainTries: 1 });

    await env.sleep('99s');
    expect(await state(queue, first)).toBe('ready');
    await env.sleep('2s');
    expect(await result(queue, first)).toBe('expired');
    await eventually(async () => expect(await jobs.size(ns, queue)).toBe(0));

    expect(await jobs.deleteDead(ns, queue, 5)).toBe(1);
    expect(await result(queue, second)).toBe('acked');
    expect((await jobs.deadLetter(ns, queue)).size).toBe(0);
  });

  test('a ready job whose ttl runs out disappears from its queue', async () => {
    const queue = freshQueue();
    const jobId = await publish(queue, { ttl: 30 });
    expect(await jobs.size(ns, queue)).toBe(1);
    await env.sleep('31s');
    expect(await result(queue, jobId)).toBe('expired');
    await eventually(async () => expect(await jobs.size(ns, queue)).toBe(0));
  });

  test('ttl counts from publish, through the delay', async () => {
    const queue = freshQueue();
    const jobId = await publish(queue, { delay: 10, ttl: 25 });
    const { publishedAt, expiresAt } = (await jobs.peekJob(ns, queue, jobId))!;
    expect(expiresAt! - publishedAt).toBe(25_000);
    await env.sleep('11s');
    await eventually(async () => expect(await state(queue, jobId)).toBe('ready'));
    await env.sleep('13s');
    expect(await state(queue, jobId)).toBe('ready');
    await env.sleep('2s');
    expect(await result(queue, jobId)).toBe('expired');
  });

  test('freeze_tries consumes without spending a try', async () => {
    const queue = freshQueue();
    const jobId = await publish(queue, { tries: 1 });
    expect((await consume([queue], 5, { freezeTries: true }))[0]?.remainTries).toBe(1);
    await env.sleep('6s');
    await eventually(async () => expect(await state(queue, jobId)).toBe('ready'));
    expect((await jobs.deadLetter(ns, queue)).size).toBe(0);
  });

  test('deleting a ready job removes it from the queue', async () => {
    const queue = freshQueue();
    const jobId = await publish(queue);
    await jobs.delete(ns, queue, jobId);
    expect(await result(queue, jobId)).toBe('acked');
    await eventually(async () => expect(await jobs.size(ns, queue)).toBe(0));
    expect(await consume([queue])).toEqual([]);
  });

  test('one consumer sees jobs in the order they became ready', async () => {
    const queue = freshQueue();
    const delayed = await publish(queue, { delay: 5 });
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await publish(queue, { body: `job ${i}` }));
    const { jobIds: bulk } = await jobs.publish({
      namespace: ns,
      queue,
      bodies: ['a', 'b', 'c'].map((s) => Buffer.from(s)),
      delay: 0,
      ttl: 0,
      tries: 1,
    });
    await env.sleep('6s');
    await eventually(async () => expect(await jobs.size(ns, queue)).toBe(9));
    const seen = [];
    for (let i = 0; i < 9; i++) seen.push((await consume([queue]))[0]?.jobId);
    expect(seen).toEqual([...ids, ...bulk, delayed]);
  });

  test('count > 1 takes several jobs at once, oldest first', async () => {
    const queue = freshQueue();
    const ids = [await publish(queue), await publish(queue), await publish(queue)];
    const taken = await consume([queue], 30, { count: 2 });
    expect(taken.map((j) => j.jobId)).toEqual(ids.slice(0, 2));
    expect((await consume([queue], 30, { count: 5 })).map((j) => j.jobId)).toEqual([ids[2]]);
  });

  test('several queues are tried in priority order', async () => {
    const high = freshQueue();
    const low = freshQueue();
    const lowJob = await publish(low);
    expect((await consume([high, low]))[0]?.jobId).toBe(lowJob);
    const lowJob2 = await publish(low);
    const highJob = await publish(high);
    expect((await consume([high, low]))[0]?.jobId).toBe(highJob);
    expect((await consume([high, low]))[0]?.jobId).toBe(lowJob2);
  });

  test('a lease not followed by a consume returns the job to its place', async () => {
    const queue = freshQueue();
    const jobId = await publish(queue);
    const handle = env.client.workflow.getHandle(queueWorkflowId(ns, queue));
    const leased = await handle.executeUpdate(leaseUpdate, { args: [{ count: 1, leaseMs: 10_000 }] });
    expect(leased.map((l) => l.jobId)).toEqual([jobId]);
    expect(await handle.query(statsQuery, { head: 1 })).toEqual({ size: 0, leased: 1, spilled: 0, head: [] });
    await env.sleep('11s');
    // Back at its own time: the oldest ready job, as old as when it was first published.
    await eventually(async () =>
      expect(await handle.query(statsQuery, { head: 1 })).toEqual({ size: 1, leased: 0, spilled: 0, head: [jobId], oldestReadySince: leased[0]!.since }),
    );
  });

  test('a paused queue takes jobs but leases none; its long polls wait until resume; the state survives continue-as-new', async () => {
    const queue = freshQueue();
    expect(await jobs.setPaused(ns, queue, true)).toBe(true);
    const jobId = await publish(queue);
    const handle = env.client.workflow.getHandle(queueWorkflowId(ns, queue));
    expect(await handle.query(statsQuery, { head: 1 })).toMatchObject({ size: 1, paused: true, head: [jobId] });
    expect(await consume([queue])).toEqual([]);

    const before = (await handle.describe()).runId;
    await handle.signal(rewriteSignal);
    await eventually(async () => expect((await handle.describe()).runId).not.toBe(before));
    expect(await handle.query(statsQuery, { head: 1 })).toMatchObject({ size: 1, paused: true });
    expect(await consume([queue])).toEqual([]);

    // A long poll (an hour of workflow time) is still waiting when the queue resumes, and wakes.
    const waiting = handle.executeUpdate(awaitReadyUpdate, { args: [{ timeoutMs: 3_600_000 }] });
    let woke = false;
    void waiting.then(() => (woke = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(woke).toBe(false);
    expect(await jobs.setPaused(ns, queue, false)).toBe(false);
    expect(await waiting).toBe(true);
    expect((await handle.query(statsQuery, { head: 1 })).paused).toBeUndefined();
    expect((await consume([queue]))[0]?.jobId).toBe(jobId);
  });

  test("a lease settles the caller's earlier leases first", async () => {
    const queue = freshQueue();
    const ids = [await publish(queue), await publish(queue)];
    const handle = env.client.workflow.getHandle(queueWorkflowId(ns, queue));
    const [first] = await handle.executeUpdate(leaseUpdate, { args: [{ count: 1, leaseMs: 10_000 }] });
    const [second] = await handle.executeUpdate(leaseUpdate, { args: [{ count: 1, leaseMs: 10_000, settle: [first!.jobId] }] });
    expect([first?.jobId, second?.jobId]).toEqual(ids);
    expect(await handle.query(statsQuery, { head: 1 })).toEqual({ size: 0, leased: 1, spilled: 0, head: [] });
  });

  test('consumed leases end up settled, also when the lease meant to carry them finds nothing', async () => {
    const queue = freshQueue();
    const handle = env.client.workflow.getHandle(queueWorkflowId(ns, queue));
    const ids = [await publish(queue), await publish(queue)];
    expect((await consume([queue])).map((j) => j.jobId)).toEqual([ids[0]]);
    expect((await consume([queue])).map((j) => j.jobId)).toEqual([ids[1]]);
    // This lease is refused (nothing ready), so the settle it took is sent by signal.
    expect(await consume([queue])).toEqual([]);
    await eventually(async () => expect(await handle.query(statsQuery, { head: 1 })).toEqual({ size: 0, leased: 0, spilled: 0, head: [] }));
  });

  test('destroy drops ready jobs; delayed and working ones stay', async () => {
    const queue = freshQueue();
    const working = await publish(queue);
    await consume([queue]);
    const ready = [await publish(queue), await publish(queue)];
    const delayed = await publish(queue, { delay: 60 });
    expect(await jobs.destroy(ns, queue)).toBe(2);
    for (const jobId of ready) expect(await result(queue, jobId)).toBe('destroyed');
    expect(await jobs.size(ns, queue)).toBe(0);
    expect(await state(queue, delayed)).toBe('delayed');
    expect(await state(queue, working)).toBe('working');
  });

  test('a ready signal merged after a slow one gets a deadline of its own', async () => {
    const queue = freshQueue();
    let slowSignal: (() => void) | undefined;
    const signalInFlight = new Promise<void>((resolve) => (slowSignal = resolve));
    // Holds the first ready signal past its publish's deadline, as an overloaded server would.
    const client = clientWith({
      async signalWithStart(input, next) {
        if (slowSignal) {
          slowSignal();
          slowSignal = undefined;
          await new Promise((resolve) => setTimeout(resolve, 1500));
        }
        return next(input);
      },
    });
    const slowQueue = new JobQueue(client, taskQueue, { publishTimeoutMs: 1000 });
    const publishOne = (body: string) =>
      slowQueue.publish({ namespace: ns, queue, bodies: [Buffer.from(body)], delay: 0, ttl: 0, tries: 1 });

    const first = publishOne('first');
    await signalInFlight;
    const second = publishOne('second');
    await expect(first).rejects.toThrow();
    // Merged into the next signal, which must not inherit the first publish's spent deadline.
    const { jobIds } = await second;
    expect(await jobs.size(ns, queue)).toBe(1);
    expect((await consume([queue]))[0]?.jobId).toBe(jobIds[0]);
  });

  test('a retried publish indexes the job it started before at that first time, keeping FIFO', async () => {
    const queue = freshQueue();
    let failSignal = true;
    // The first attempt starts its job, then loses its ready signal, as an API that died would.
    const client = clientWith({
      async signalWithStart(input, next) {
        if (failSignal) {
          failSignal = false;
          throw new Error('connection lost');
        }
        return next(input);
      },
    });
    const flaky = new JobQueue(client, taskQueue);
    const request = { namespace: ns, queue, bodies: [Buffer.from('first')], delay: 0, ttl: 0, tries: 1, idempotencyKey: 'retried' };
    await expect(flaky.publish(request)).rejects.toThrow('connection lost');
    const later = await publish(queue);
    const retry = await flaky.publish(request);
    expect(retry.replayed).toBe(true);
    expect(await jobs.size(ns, queue)).toBe(2);
    expect((await consume([queue, queue])).map((j) => j.jobId)).toEqual(retry.jobIds);
    expect((await consume([queue])).map((j) => j.jobId)).toEqual([later]);
    // A job that left ready (consumed) is not indexed again by another retry.
    await flaky.publish(request);
    expect(await jobs.size(ns, queue)).toBe(0);
  });

  test('a lease the server aborted unapplied is sent again, and the consume gets its job', async () => {
    const queue = freshQueue();
    const jobId = await publish(queue);
    // What the SDK throws when the server aborts an update because the workflow task carrying it
    // failed on the server's side (an index continuing as new while a signal arrived).
    const workflowNotReady = Object.assign(new Error('9 FAILED_PRECONDITION: Unable to perform workflow execution update due to unexpected workflow task failure.'), {
      code: 9,
      details: 'Unable to perform workflow execution update due to unexpected workflow task failure.',
      metadata: {},
    });
    let aborted = 0;
    const client = clientWith({
      async startUpdate(input, next) {
        if (input.updateName === leaseUpdate.name && aborted < 2) {
          aborted++;
          throw new ServiceError('Workflow Update failed', { cause: workflowNotReady });
        }
        return next(input);
      },
    });
    const abortingQueue = new JobQueue(client, taskQueue);
    const taken = await abortingQueue.consume({ namespace: ns, queues: [queue], ttr: 30, timeout: 0, count: 1, freezeTries: false });
    expect([aborted, taken.map((j) => j.jobId)]).toEqual([2, [jobId]]);
    expect(await state(queue, jobId)).toBe('working');
  });
  test('every history a job writes replays without nondeterminism: consume, ttr expiry, dead, respawn, ack', async () => {
    // A worker runs a job from its history whenever the job is not in its cache (a restart, or more
    // jobs than the cache holds): each task here is handled that way, by a worker without a cache,
    // and every history must replay as it was written.
    const coldQueue = `${taskQueue}-cold`;
    const activities = createActivities({ client: env.client, taskQueue: coldQueue });
    const workflowsPath = require.resolve('../../src/workflows');
    const cold = await Promise.all(
      [coldQueue, indexTaskQueue(coldQueue)].map((queue) =>
        Worker.create({ connection: env.nativeConnection, taskQueue: queue, workflowsPath, activities, dataConverter: testDataConverter, maxCachedWorkflows: 0 }),
      ),
    );
    const coldRunning = cold.map((w) => w.run());
    const jobs = new JobQueue(env.client, coldQueue);
    const publish = async (queue: string, options: { ttl?: number; tries?: number } = {}) =>
      (await jobs.publish({ namespace: ns, queue, bodies: [Buffer.from('cold')], delay: 0, ttl: options.ttl ?? 0, tries: options.tries ?? 1 })).jobIds[0]!;
    const consume = (queues: string[], ttr: number, count = 1) => jobs.consume({ namespace: ns, queues, ttr, timeout: 0, count, freezeTries: false });
    const state = async (queue: string, jobId: string) => (await jobs.peekJob(ns, queue, jobId))?.state;
    const queue = freshQueue();
    const [plain, withTtl, twice] = [await publish(queue), await publish(queue, { ttl: 3600 }), await publish(queue, { tries: 2, ttl: 3600 })];
    expect((await consume([queue], 10, 3)).map((j) => j.jobId)).toEqual([plain, withTtl, twice]);
    await env.sleep('11s');
    await eventually(async () => expect(await state(queue, twice)).toBe('ready'));
    expect((await consume([queue], 10))[0]?.jobId).toBe(twice);
    await env.sleep('11s');
    await eventually(async () => expect(await state(queue, twice)).toBe('dead'));
    await eventually(async () => expect(await state(queue, plain)).toBe('dead'));
    expect(await jobs.respawn(ns, queue, 1, 600)).toBe(1);
    let respawned: JobView[] = [];
    await eventually(async () => expect((respawned = await consume([queue], 30)).length).toBe(1));
    await jobs.delete(ns, queue, respawned[0]!.jobId);
    await jobs.delete(ns, queue, withTtl);

    const workflowIds = [...[plain, withTtl, twice].map((jobId) => jobWorkflowId(ns, queue, jobId)), queueWorkflowId(ns, queue), deadLetterWorkflowId(ns, queue)];
    const histories = await Promise.all(
      workflowIds.map(async (workflowId) => ({ workflowId, history: await env.client.workflow.getHandle(workflowId).fetchHistory() })),
    );
    const failures: string[] = [];
    for await (const replay of Worker.runReplayHistories({ workflowsPath, dataConverter: testDataConverter }, histories)) {
      if (replay.error) {
        const { history } = histories.find((h) => h.workflowId === replay.workflowId)!;
        failures.push(`${replay.workflowId}: ${replay.error.message}\n${eventList(history)}`);
      }
    }
    cold.forEach((w) => w.shutdown());
    await Promise.all(coldRunning);
    expect(failures).toEqual([]);
  });
});
