import type { AddressInfo, Socket } from 'node:net';
import { createConnection, createServer } from 'node:net';
import type { Client, Connection } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import pino from 'pino';
import type { RunningApi } from '../../src/api/server';
import { startApi } from '../../src/api/server';
import { loadConfig } from '../../src/config';
import { connectClient } from '../../src/temporal/connect';
import { pushWorkflowId } from '../../src/workflows/ids';
import { testDataConverter } from '../helpers/codec';
import { eventually } from '../helpers/eventually';
import type { WorkerProcess } from '../helpers/worker-process';
import { startWorkerProcess } from '../helpers/worker-process';
import { Receiver } from '../helpers/receiver';
import type { TemporalEnv } from '../helpers/temporal';
import { createTemporalEnv } from '../helpers/temporal';

// Workers as real processes (`src/workers/main.ts`, as `npm run start:worker` runs it) on one task
// queue, an API in this process, a real dev server: load sharing, SIGTERM drain, SIGKILL recovery,
// and what a publish answers while Temporal cannot be reached.

jest.setTimeout(180_000);

const taskQueue = `ferry-procs-${process.pid}`;
const ns = 'procs';
let temporal: TemporalEnv;
let proxy: TcpProxy;
let apiConnection: Connection;
let api: RunningApi;
let receiver: Receiver;
let token: string;
let client: Client;
const workers: WorkerProcess[] = [];

/**
 * A TCP relay between the API and Temporal: closing it makes Temporal unreachable for the API
 * alone (workers and the dev server go on); opening it again on the same port heals it.
 */
class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private server = this.listen();
  port = 0;

  constructor(private readonly target: { host: string; port: number }) {}

  private listen() {
    return createServer((inbound) => {
      const outbound = createConnection(this.target);
      for (const s of [inbound, outbound]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      inbound.pipe(outbound).pipe(inbound);
    });
  }

  async open(): Promise<void> {
    this.server = this.listen();
    await new Promise<void>((resolve) => this.server.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** Starts a worker process on this file's task queue; every one is killed after the tests. */
async function startWorker(): Promise<WorkerProcess> {
  const worker = await startWorkerProcess(temporal.connection, taskQueue);
  workers.push(worker);
  return worker;
}

/** Delivery attempts a worker made, from its own Prometheus endpoint. */
async function attemptsMadeBy(worker: WorkerProcess): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${worker.metricsPort}/metrics`)).text();
  return [...text.matchAll(/^ferry_push_attempts_total\{[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

async function call(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${api.queueUrl}/push/${ns}${path}`, {
    method,
    headers: { 'x-token': token, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function endpoint(id: string, settings: Record<string, unknown>, reply: Parameters<Receiver['script']>[1]): Promise<string> {
  const path = `/${id}`;
  const res = await call('POST', '/endpoints', { id, url: receiver.script(path, reply), eventTypes: [`${id}.#`], ...settings });
  expect(res.status).toBe(201);
  return path;
}

async function publish(type: string, count: number): Promise<string[]> {
  const res = await call('POST', '/events/batch', { events: Array.from({ length: count }, (_, n) => ({ type, data: { n } })) });
  expect(res.status).toBe(202);
  return ((await res.json()) as { events: { id: string }[] }).events.map((e) => e.id);
}

async function allDelivered(ids: string[], timeoutMs: number): Promise<void> {
  await eventually(
    async () => {
      const statuses = await Promise.all(ids.map(async (id) => ((await (await call('GET', `/events/${id}`)).json()) as { status: string }).status));
      expect(statuses.filter((s) => s !== 'push_success')).toEqual([]);
    },
    timeoutMs,
    250,
  );
}

/** The identity of the worker whose attempt delivered the event (its last ActivityTaskStarted). */
async function deliveredBy(eventId: string): Promise<string | undefined> {
  const history = await client.workflow.getHandle(pushWorkflowId(ns, eventId)).fetchHistory();
  return history.events?.filter((e) => e.activityTaskStartedEventAttributes).at(-1)?.activityTaskStartedEventAttributes?.identity ?? undefined;
}

beforeAll(async () => {
  temporal = await createTemporalEnv();
  const [host = '127.0.0.1', port = '7233'] = temporal.connection.options.address.split(':');
  proxy = new TcpProxy({ host, port: Number(port) });
  await proxy.open();
  receiver = await Receiver.start();
  await Promise.all([startWorker(), startWorker()]);
  ({ client, connection: apiConnection } = await connectClient(`127.0.0.1:${proxy.port}`, 'default', testDataConverter));
  api = await startApi(
    loadConfig({ FERRY_API_PORT: '0', FERRY_ADMIN_PORT: '0', FERRY_TASK_QUEUE: taskQueue, FERRY_TOKEN_REFRESH_MS: '500', FERRY_ENDPOINT_REFRESH_MS: '300' }),
    client,
    pino({ level: 'silent' }),
  );
  token = ((await (await fetch(`${api.adminUrl}/token/${ns}?description=test`, { method: 'POST' })).json()) as { token: string }).token;
}, 180_000);

afterAll(async () => {
  // The API first, while workers still answer its registry queries.
  await api?.close();
  for (const w of workers) w.child.kill('SIGKILL');
  await apiConnection?.close();
  await proxy?.close().catch(() => undefined);
  await receiver?.stop();
  await temporal?.teardown();
});

test('two worker processes on one task queue share the deliveries', async () => {
  const [a, b] = workers as [WorkerProcess, WorkerProcess];
  const path = await endpoint('shared', {}, { status: 200, delayMs: 100 });
  const ids = await publish('shared.event', 40);
  await allDelivered(ids, 60_000);
  expect(receiver.to(path)).toHaveLength(40);
  const [byA, byB] = await Promise.all([attemptsMadeBy(a), attemptsMadeBy(b)]);
  expect(byA + byB).toBe(40);
  expect(Math.min(byA, byB)).toBeGreaterThan(0);
  console.log(`two workers: ${byA} and ${byB} of 40 deliveries`);
});

test('SIGTERM lets a worker finish its in-flight deliveries before it exits', async () => {
  const leaving = workers[1]!;
  const path = await endpoint('drain', { retrySchedule: [1] }, { status: 200, delayMs: 2000 });
  const ids = await publish('drain.event', 10);
  await eventually(async () => expect(receiver.inFlight(path)).toBe(10), 20_000, 20);
  leaving.child.kill('SIGTERM');
  const termAt = Date.now();
  const code = await leaving.exited;
  const exitedAt = Date.now();
  expect(code).toBe(0);
  await allDelivered(ids, 30_000);
  // Each event was delivered by its first attempt: none was cut off and retried.
  expect(receiver.to(path)).toHaveLength(10);
  const owners = await Promise.all(ids.map(deliveredBy));
  const drained = ids.filter((_, i) => owners[i] === leaving.identity);
  expect(drained.length).toBeGreaterThan(0);
  // The worker left only after the receiver had answered every delivery it held.
  const answered = receiver.to(path).filter((h) => drained.includes((JSON.parse(h.body) as { id: string }).id));
  expect(Math.max(...answered.map((h) => h.at))).toBeLessThanOrEqual(exitedAt);
  console.log(`SIGTERM: the leaving worker held ${drained.length} of 10 deliveries (2 s each), finished them and exited ${exitedAt - termAt} ms after the signal`);
});

test('SIGKILL mid-delivery: a new worker delivers every event; duplicates only for attempts in flight, all with one webhook-id', async () => {
  const killed = workers[0]!;
  const path = await endpoint('crash', { timeoutMs: 3000, retrySchedule: [1, 1, 1, 1, 1] }, { status: 200, delayMs: 800 });
  const ids = await publish('crash.event', 30);
  await eventually(async () => expect(receiver.inFlight(path)).toBeGreaterThanOrEqual(5), 20_000, 10);
  killed.child.kill('SIGKILL');
  const killedAt = Date.now();
  const atReceiver = receiver.inFlight(path);
  await killed.exited;
  // In flight as Temporal counts it: attempts started and not completed. The receiver's count misses
  // requests still on the wire and answers whose completion the dead worker never reported.
  const descriptions = await Promise.all(ids.map((id) => client.workflow.getHandle(pushWorkflowId(ns, id)).describe()));
  const inFlightAtKill = descriptions.reduce(
    (sum, d) => sum + (d.raw.pendingActivities ?? []).filter((a) => a.state === proto.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED).length,
    0,
  );
  await startWorker();
  // Lost attempts come back after their start-to-close timeout (3 s + 10 s) and a 1 s retry.
  await allDelivered(ids, 90_000);
  const hits = receiver.to(path);
  const perEvent = new Map(ids.map((id) => [id, hits.filter((h) => (JSON.parse(h.body) as { id: string }).id === id)]));
  for (const [id, eventHits] of perEvent) {
    expect([id, eventHits.length > 0]).toEqual([id, true]);
    expect(new Set(eventHits.map((h) => h.headers['webhook-id']))).toEqual(new Set([id]));
  }
  const duplicates = [...perEvent.values()].reduce((sum, h) => sum + h.length - 1, 0);
  expect(duplicates).toBeLessThanOrEqual(inFlightAtKill);
  console.log(`SIGKILL: ${ids.length} events, ${inFlightAtKill} attempts in flight at the kill (${atReceiver} of them at the receiver), ${duplicates} duplicate deliveries, all delivered ${Date.now() - killedAt} ms after the kill`);
});

test('while Temporal cannot be reached a publish is a 503 with Retry-After, and nothing is started', async () => {
  await endpoint('outage', {}, 200);
  await proxy.close();
  const started = Date.now();
  const res = await call('POST', '/events', { id: 'during-outage', type: 'outage.event' });
  const tookMs = Date.now() - started;
  expect(res.status).toBe(503);
  expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
  expect(typeof ((await res.json()) as { error: unknown }).error).toBe('string');
  // The queue API's publish gives up the same way.
  const jobStarted = Date.now();
  const job = await fetch(`${api.queueUrl}/api/${ns}/outage`, { method: 'PUT', headers: { 'x-token': token }, body: 'job' });
  const jobTookMs = Date.now() - jobStarted;
  expect([job.status, job.headers.get('retry-after')]).toEqual([503, '1']);
  expect(jobTookMs).toBeLessThan(8_000);
  await proxy.open();
  // Healed: the same publish now goes through, and it is the first one with that id.
  let healed: Response | undefined;
  await eventually(async () => {
    healed = await call('POST', '/events', { id: 'during-outage', type: 'outage.event' });
    expect(healed.status).toBe(202);
  }, 30_000, 500);
  expect(((await healed!.json()) as { replayed: boolean }).replayed).toBe(false);
  await allDelivered(['during-outage'], 30_000);
  expect(receiver.to('/outage')).toHaveLength(1);
  // The gate's reading (1-s deadline), then FERRY_PUBLISH_TIMEOUT_MS (5 s); 2 s for a loaded machine.
  expect(tookMs).toBeLessThan(8_000);
  console.log(`Temporal unreachable: event publish answered 503 after ${tookMs} ms, job publish after ${jobTookMs} ms`);
});
