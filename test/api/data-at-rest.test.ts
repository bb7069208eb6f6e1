import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Connection } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { loadConfig } from '../../src/config';
import { createApiLogger, startApi } from '../../src/api/server';
import type { RunningApi } from '../../src/api/server';
import { connectClient, connectWorker } from '../../src/temporal/connect';
import type { DevServer } from '../../src/local-temporal/dev-server';
import { startDevServer } from '../../src/local-temporal/dev-server';
import { temporalTools } from '../../src/local-temporal/tools';
import { FerryWorker } from '../../src/workers/worker';
import { endpointRegistryWorkflowId, jobWorkflowId, pushWorkflowId } from '../../src/workflows/ids';
import { testDataConverter } from '../helpers/codec';
import { eventually } from '../helpers/eventually';
import { freePort } from '../helpers/ports';
import { Receiver } from '../helpers/receiver';
import { installTestRuntime } from '../helpers/runtime';

/**
 * With the payload codec on (as Ferry always runs), nothing a client gives Ferry to keep is
 * readable in Temporal's database, in `temporal workflow show`/`describe` without the codec, or in
 * Ferry's logs; consumers and receivers still get the exact bytes.
 */
const ns = 'atrest';
const hex = () => randomBytes(8).toString('hex');
const jobMarker = `job-marker-${hex()}`;
const eventMarker = `event-marker-${hex()}`;
const bearerMarker = `bearer-marker-${hex()}`;
const reasonMarker = `reason-marker-${hex()}`;
const secretKey = randomBytes(32).toString('base64');

let dataDir: string;
let server: DevServer;
let connection: Connection;
let workerConnection: NativeConnection;
let worker: FerryWorker;
let running: Promise<void>;
let api: RunningApi;
let receiver: Receiver;
const logLines: string[] = [];

beforeAll(async () => {
  installTestRuntime();
  dataDir = mkdtempSync(join(tmpdir(), 'ferry-at-rest-'));
  server = await startDevServer({ dataDir, host: '127.0.0.1', port: await freePort(), uiPort: await freePort(), namespace: 'default' });
  const config = loadConfig({ FERRY_API_PORT: '0', FERRY_ADMIN_PORT: '0', FERRY_TASK_QUEUE: 'ferry-at-rest', FERRY_PUSH_ALLOW_CIDRS: '127.0.0.1/32', FERRY_LOG_LEVEL: 'debug' });
  const connected = await connectClient(server.address, 'default', testDataConverter);
  connection = connected.connection;
  workerConnection = await connectWorker(server.address);
  worker = await FerryWorker.create({ connection: workerConnection, client: connected.client, namespace: 'default', taskQueue: config.FERRY_TASK_QUEUE, config });
  running = worker.run();
  api = await startApi(config, connected.client, createApiLogger('debug', { write: (line: string) => void logLines.push(line) }));
  receiver = await Receiver.start();
}, 120_000);

afterAll(async () => {
  await api?.close();
  worker?.shutdown();
  await running;
  await workerConnection?.close();
  await connection?.close();
  await server?.stop();
  await receiver?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Each marker as stored in the clear: as is, and in base64 (job bodies travel base64-encoded). */
const forms = (marker: string) => [marker, Buffer.from(marker).toString('base64').slice(0, -4)];
const markers = () => [...forms(jobMarker), ...forms(eventMarker), ...forms(bearerMarker), ...forms(reasonMarker), secretKey];

test('job bodies, event data, endpoint secrets and credentials are unreadable at rest and in the CLI; clients get them exact', async () => {
  const minted = await fetch(`${api.adminUrl}/token/${ns}?description=at-rest`, { method: 'POST' });
  const { token } = (await minted.json()) as { token: string };
  const headers = { 'x-token': token };

  const published = await fetch(`${api.queueUrl}/api/${ns}/q?ttl=0`, { method: 'PUT', headers, body: jobMarker });
  expect(published.status).toBe(201);
  const { job_id: jobId } = (await published.json()) as { job_id: string };

  const created = await fetch(`${api.queueUrl}/push/${ns}/endpoints`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'sink', url: receiver.script('/sink', 200), eventTypes: ['rest.#'], secret: `whsec_${secretKey}`, auth: { type: 'bearer', token: bearerMarker } }),
  });
  expect(created.status).toBe(201);
  // A second endpoint, disabled with a reason: its delivery fails with that reason in the failure
  // message and in the dead letter's memo.
  const held = await fetch(`${api.queueUrl}/push/${ns}/endpoints`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'held', url: receiver.script('/held', 200), eventTypes: ['rest.#'] }),
  });
  expect(held.status).toBe(201);
  const disabled = await fetch(`${api.queueUrl}/push/${ns}/endpoints/held/disable`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ reason: reasonMarker }),
  });
  expect(disabled.status).toBe(200);
  const event = await fetch(`${api.queueUrl}/push/${ns}/events`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'evt-rest', type: 'rest.created', data: { note: eventMarker } }),
  });
  expect(event.status).toBe(202);

  // Through Ferry, every byte comes back.
  await eventually(async () => expect(receiver.to('/sink')).toHaveLength(1), 30_000);
  const [hit] = receiver.to('/sink');
  expect(hit!.headers.authorization).toBe(`Bearer ${bearerMarker}`);
  expect(hit!.body).toContain(eventMarker);
  await eventually(async () => {
    const dead = await fetch(`${api.queueUrl}/push/${ns}/deadletter`, { headers });
    expect(JSON.stringify(await dead.json())).toContain(reasonMarker);
  }, 30_000);
  const consumed = await fetch(`${api.queueUrl}/api/${ns}/q?ttr=600`, { headers });
  expect(Buffer.from(((await consumed.json()) as { data: string }).data, 'base64').toString()).toBe(jobMarker);

  // Temporal's database: the SQLite file and its write-ahead log, as they are on disk.
  const stored = readdirSync(dataDir)
    .filter((f) => f.startsWith('temporal.sqlite'))
    .map((f) => readFileSync(join(dataDir, f)).toString('latin1'))
    .join('');
  expect(stored.length).toBeGreaterThan(0);
  expect(stored).toContain(jobWorkflowId(ns, 'q', jobId)); // ids stay readable: Temporal indexes them
  expect(markers().filter((m) => stored.includes(m))).toEqual([]);

  // The CLI without the codec endpoint sees only ciphertext.
  const cli = temporalTools().temporal ?? 'temporal';
  const shown: string[] = [];
  for (const workflowId of [jobWorkflowId(ns, 'q', jobId), pushWorkflowId(ns, 'evt-rest'), endpointRegistryWorkflowId(ns)]) {
    for (const verb of ['show', 'describe']) {
      const { stdout } = await promisify(execFile)(cli, ['workflow', verb, '--address', server.address, '--workflow-id', workflowId, '-o', 'json'], { maxBuffer: 64 << 20 });
      expect(stdout).toContain(workflowId);
      shown.push(stdout);
    }
  }
  expect(markers().filter((m) => shown.join('\n').includes(m))).toEqual([]);

  // Ferry's own logs, at debug level.
  expect(logLines.length).toBeGreaterThan(0);
  expect(markers().filter((m) => logLines.join('\n').includes(m))).toEqual([]);
}, 120_000);
