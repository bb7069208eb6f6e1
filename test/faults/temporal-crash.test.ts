import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type { RunningApi } from '../../src/api/server';
import { startApi } from '../../src/api/server';
import { startTemporalCluster } from '../../src/cluster/temporal-cluster';
import { loadConfig } from '../../src/config';
import { connectClient, connectWorker } from '../../src/temporal/connect';
import type { DevServer } from '../../src/local-temporal/dev-server';
import { startDevServer } from '../../src/local-temporal/dev-server';
import { FerryWorker } from '../../src/workers/worker';
import { testDataConverter } from '../helpers/codec';
import { eventually } from '../helpers/eventually';
import { freePort } from '../helpers/ports';
import { whileProgressing } from '../helpers/progressing';
import { Receiver } from '../helpers/receiver';
import { installTestRuntime } from '../helpers/runtime';
import { CLUSTER_ADDRESS } from '../helpers/temporal';

/**
 * `npm run test:faults`: the Temporal dev server is SIGKILLed in the middle of a publish load and
 * restarted on the same SQLite file. Under `npm run test:cluster` the same load runs on a
 * PostgreSQL cluster of this file's own, twice: once the Temporal server is SIGKILLed, once every
 * PostgreSQL process. Every job that got a 201 is consumed afterwards; every event that got a 202
 * is delivered; publishes during the outage get a 503, never a silent loss.
 */
jest.setTimeout(10 * 60_000);

const JOBS = Number(process.env.FERRY_FAULT_JOBS ?? 600);
const EVENTS = Number(process.env.FERRY_FAULT_EVENTS ?? 200);
const LANES = 8;
/** One attempt in this many publishes an event; the rest publish jobs. */
const EVENT_EVERY = Math.max(1, Math.round((JOBS + EVENTS) / EVENTS));

/** Something Temporal's data depends on, killed and started again on the same data. */
interface Crash {
  kill(): void;
  restart(): Promise<void>;
}

let dataDir: string;
let stopTemporal: () => Promise<void>;
let api: RunningApi;
let worker: FerryWorker;
let running: Promise<void>;
let closeConnections: () => Promise<void>;
let receiver: Receiver;
const crashes = new Map<string, Crash>();

/** The dev server Ferry embeds, on a SQLite file; the same ports when it comes back. */
async function startDev(): Promise<string> {
  const options = { dataDir, host: '127.0.0.1', port: await freePort(), uiPort: await freePort(), namespace: 'default' };
  let server: DevServer = await startDevServer(options);
  stopTemporal = () => server.stop();
  crashes.set('the Temporal dev server', {
    kill: () => process.kill(server.pid, 'SIGKILL'),
    restart: async () => void (server = await startDevServer(options)),
  });
  return server.address;
}

/** The production shape: PostgreSQL and the full server, this file's own beside the shared one. */
async function startCluster(): Promise<string> {
  const cluster = await startTemporalCluster({ dataDir, host: '127.0.0.1', postgresPort: await freePort(), port: await freePort(), shards: 4, namespace: 'default', logFile: join(dataDir, 'temporal-server.log') });
  stopTemporal = () => cluster.stop();
  crashes.set('the Temporal server', { kill: () => process.kill(cluster.server.pid, 'SIGKILL'), restart: () => cluster.restartServer() });
  crashes.set('PostgreSQL', {
    // The postmaster and every backend: what a power cut leaves, recovered from the WAL at start.
    kill: () => process.kill(-cluster.postgres.pid(), 'SIGKILL'),
    restart: async () => cluster.restartPostgres(),
  });
  return cluster.address;
}

const CRASHES = CLUSTER_ADDRESS ? ['the Temporal server', 'PostgreSQL'] : ['the Temporal dev server'];

beforeAll(async () => {
  installTestRuntime();
  dataDir = mkdtempSync(join(tmpdir(), 'ferry-faults-'));
  // PostgreSQL runs as its own user, which must reach its data folder.
  chmodSync(dataDir, 0o755);
  const address = CLUSTER_ADDRESS ? await startCluster() : await startDev();
  const config = loadConfig({
    FERRY_API_PORT: '0',
    FERRY_ADMIN_PORT: '0',
    FERRY_TASK_QUEUE: 'ferry-faults',
    FERRY_PUSH_ALLOW_CIDRS: '127.0.0.1/32',
    FERRY_ENDPOINT_REFRESH_MS: '300',
  });
  const { client, connection } = await connectClient(address, 'default', testDataConverter);
  const workerConnection = await connectWorker(address);
  worker = await FerryWorker.create({ connection: workerConnection, client, namespace: 'default', taskQueue: config.FERRY_TASK_QUEUE, config });
  running = worker.run();
  api = await startApi(config, client, pino({ level: 'silent' }));
  closeConnections = async () => {
    await workerConnection.close();
    await connection.close();
  };
  receiver = await Receiver.start();
}, 300_000);

afterAll(async () => {
  await api?.close();
  worker?.shutdown();
  await running;
  await closeConnections?.();
  await stopTemporal?.();
  await receiver?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

test.each(CRASHES.map((name, i) => ({ name, ns: `faults${i}` })))('SIGKILL of $name under load: every 201 job is consumed, every 202 event delivered', async ({ name, ns }) => {
  const crash = crashes.get(name)!;
  const adminToken = await fetch(`${api.adminUrl}/token/${ns}?description=faults`, { method: 'POST' });
  const token = ((await adminToken.json()) as { token: string }).token;
  const headers = { 'x-token': token };
  const created = await fetch(`${api.queueUrl}/push/${ns}/endpoints`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'sink', url: receiver.script('/sink', 200), eventTypes: ['crash.#'], retrySchedule: [1, 2, 5, 10, 30, 60] }),
  });
  expect(created.status).toBe(201);

  const accepted = { jobs: new Set<string>(), events: new Set<string>() };
  const refused = new Map<string, number>();
  let attempts = 0;
  let killedAt = 0;
  let restartedAt = 0;
  const total = JOBS + EVENTS;
  const refuse = (what: string) => refused.set(what, (refused.get(what) ?? 0) + 1);

  const load = Promise.all(
    Array.from({ length: LANES }, async () => {
      for (let n = attempts++; n < total; n = attempts++) {
        try {
          if (n % EVENT_EVERY === 0) {
            const id = `evt-${n}`;
            const res = await fetch(`${api.queueUrl}/push/${ns}/events`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ id, type: 'crash.event' }) });
            if (res.status === 202) accepted.events.add(id);
            else refuse(`event ${res.status}`);
          } else {
            const res = await fetch(`${api.queueUrl}/api/${ns}/crash?ttl=0`, { method: 'PUT', headers, body: `job-${n}` });
            if (res.status === 201) accepted.jobs.add(((await res.json()) as { job_id: string }).job_id);
            else refuse(`job ${res.status}`);
          }
        } catch {
          refuse('no answer');
        }
      }
    }),
  );

  // A third of the way in, it dies; it comes back on the same data 3 s later.
  await eventually(async () => expect(attempts).toBeGreaterThanOrEqual(total / 3), 120_000, 10);
  crash.kill();
  killedAt = Date.now();
  await new Promise((r) => setTimeout(r, 3000));
  await crash.restart();
  restartedAt = Date.now();
  await load;

  // Everything accepted comes out: jobs by consuming (and acking) them, events at the receiver.
  const consumed = new Set<string>();
  const deliveredNow = () => new Set(receiver.to('/sink').map((h) => (JSON.parse(h.body) as { id: string }).id));
  const describe = () =>
    `${accepted.jobs.size} jobs and ${accepted.events.size} events accepted, ${consumed.size} consumed, ${deliveredNow().size} delivered; ` +
    `refused: ${JSON.stringify(Object.fromEntries(refused))}`;
  await whileProgressing(
    async () => {
      for (;;) {
        const res = await fetch(`${api.queueUrl}/api/${ns}/crash?count=50&ttr=600&timeout=1`, { headers });
        if (res.status !== 200) break;
        for (const job of (await res.json()) as { job_id: string }[]) {
          consumed.add(job.job_id);
          await fetch(`${api.queueUrl}/api/${ns}/crash/job/${job.job_id}`, { method: 'DELETE', headers });
        }
      }
      expect([...accepted.jobs].filter((id) => !consumed.has(id))).toEqual([]);
    },
    { progress: () => consumed.size, describe, intervalMs: 1000 },
  );
  const delivered = deliveredNow();
  await whileProgressing(
    async () => {
      const now = deliveredNow();
      expect([...accepted.events].filter((id) => !now.has(id))).toEqual([]);
    },
    // Retries back off up to 60 s (the endpoint's schedule), so a stall is only longer than that.
    { progress: () => receiver.to('/sink').length, describe, intervalMs: 1000 },
  );

  const refusedText = [...refused].map(([k, v]) => `${v}x ${k}`).join(', ') || 'none';
  console.log(
    `SIGKILL of ${name}: ${accepted.jobs.size} jobs and ${accepted.events.size} events accepted of ${total} attempts; refused: ${refusedText}; ` +
      `server down for ${restartedAt - killedAt} ms; consumed ${consumed.size} jobs (${consumed.size - accepted.jobs.size} not acknowledged to their publisher); ` +
      `${delivered.size} events delivered when the jobs were drained`,
  );
  // Every refusal was a clear 503 (or a connection cut by the crash), never a success that vanished.
  for (const what of refused.keys()) expect(what).toMatch(/ 503$|no answer/);
});
