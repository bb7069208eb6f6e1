import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pino from 'pino';
import type { Client, Connection } from '@temporalio/client';
import { dataConverter, loadConfig } from '../../src/config';
import type { RunningApi } from '../../src/api/server';
import { startApi } from '../../src/api/server';
import type { KeyUsage } from '../../src/temporal/codec-key-usage';
import { rewriteWorkflows, scanKeyUsage, staleWorkflows } from '../../src/temporal/codec-key-usage';
import { connectClient, connectWorker } from '../../src/temporal/connect';
import type { DevServer } from '../../src/local-temporal/dev-server';
import { startDevServer } from '../../src/local-temporal/dev-server';
import { FerryWorker } from '../../src/workers/worker';
import { jobWorkflowId, queueWorkflowId, tokenRegistryWorkflowId } from '../../src/workflows/ids';
import { eventually } from '../helpers/eventually';
import { freePort } from '../helpers/ports';
import { installTestRuntime } from '../helpers/runtime';

const keyA = `a:${Buffer.alloc(32, 1).toString('base64')}`;
const keyB = `b:${Buffer.alloc(32, 2).toString('base64')}`;
const ns = 'rotation';

/**
 * Key rotation as the README tells it, on one dev server whose data outlives three Ferrys: under a,
 * under b then a, under b alone.
 */

interface Ferry {
  client: Client;
  api: RunningApi;
  stop(): Promise<void>;
}

let dataDir: string;
let server: DevServer;
let ferry: Ferry | undefined;

async function startFerry(keys: string): Promise<Ferry> {
  const config = loadConfig({ FERRY_API_PORT: '0', FERRY_ADMIN_PORT: '0', FERRY_TASK_QUEUE: 'ferry-rotation', FERRY_CODEC_KEYS: keys, FERRY_TOKEN_REFRESH_MS: '300' });
  const { client, connection }: { client: Client; connection: Connection } = await connectClient(server.address, 'default', dataConverter(config));
  const workerConnection = await connectWorker(server.address);
  const worker = await FerryWorker.create({ connection: workerConnection, client, namespace: 'default', taskQueue: config.FERRY_TASK_QUEUE, config });
  const running = worker.run();
  const api = await startApi(config, client, pino({ level: 'silent' }));
  return {
    client,
    api,
    async stop() {
      await api.close();
      worker.shutdown();
      await running;
      await workerConnection.close();
      await connection.close();
    },
  };
}

beforeAll(async () => {
  installTestRuntime();
  dataDir = mkdtempSync(join(tmpdir(), 'ferry-rotation-'));
  server = await startDevServer({ dataDir, host: '127.0.0.1', port: await freePort(), uiPort: await freePort(), namespace: 'default' });
}, 120_000);

afterAll(async () => {
  await ferry?.stop();
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const execFileAsync = promisify(execFile);

/** `npm run codec:keys` as an operator runs it, with this suite's Temporal and keys. */
async function codecKeysCommand(keys: string, ...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(process.execPath, [require.resolve('tsx/cli'), 'src/cli/codec-keys.ts', ...args], {
    env: { ...process.env, TEMPORAL_ADDRESS: server.address, FERRY_CODEC_KEYS: keys },
  });
  return stdout;
}

test('keys rotate: old payloads read after a new key is put first; rewritten workflows need only it; a job left under a dropped key gets a clear 500', async () => {
  ferry = await startFerry(keyA);
  const minted = await fetch(`${ferry.api.adminUrl}/token/${ns}?description=rotation`, { method: 'POST' });
  const { token } = (await minted.json()) as { token: string };
  const headers = { 'x-token': token };
  const publish = async (body: string) => {
    const res = await fetch(`${ferry!.api.queueUrl}/api/${ns}/q?ttl=0`, { method: 'PUT', headers, body });
    expect(res.status).toBe(201);
    return ((await res.json()) as { job_id: string }).job_id;
  };
  const peek = (jobId: string) => fetch(`${ferry!.api.queueUrl}/api/${ns}/q/job/${jobId}`, { headers });
  const base64 = (text: string) => Buffer.from(text).toString('base64');
  const left = await publish('left under a');
  const moved = await publish('moved to b');
  await ferry.stop();

  // b first, a after: what a wrote still reads, through a new process and its new worker.
  ferry = await startFerry(`${keyB},${keyA}`);
  expect(await (await peek(left)).json()).toMatchObject({ data: base64('left under a') });
  const fresh = await publish('written under b');
  const before = JSON.parse(await codecKeysCommand(`${keyB},${keyA}`, '--json')) as KeyUsage & { firstKey: string };
  expect(before.firstKey).toBe('b');
  const underA = before.byKey.a!.map((w) => w.workflowId);
  // The jobs and the registries and indexes a wrote.
  expect(underA).toEqual(expect.arrayContaining([jobWorkflowId(ns, 'q', left), jobWorkflowId(ns, 'q', moved), queueWorkflowId(ns, 'q'), tokenRegistryWorkflowId(ns)]));
  expect(before.byKey.b!.map((w) => w.workflowId)).toContain(jobWorkflowId(ns, 'q', fresh));
  expect(before.plain).toEqual([]);

  // Everything but one job is rewritten under b (the command would rewrite that one too).
  const stale = staleWorkflows(before, 'b');
  expect(stale.map((w) => w.workflowId).sort()).toEqual([...new Set(underA)].sort());
  expect(await rewriteWorkflows(ferry.client, stale.filter((w) => w.workflowId !== jobWorkflowId(ns, 'q', left)))).toBe(stale.length - 1);
  await eventually(async () => expect((await scanKeyUsage(ferry!.client)).byKey.a?.map((w) => w.workflowId)).toEqual([jobWorkflowId(ns, 'q', left)]), 30_000, 500);
  await ferry.stop();

  // a dropped: the rewritten workflows and everything written under b work as before.
  ferry = await startFerry(keyB);
  expect(await (await peek(moved)).json()).toMatchObject({ data: base64('moved to b') });
  expect(await (await peek(fresh)).json()).toMatchObject({ data: base64('written under b') });
  // The job left under a: its peek is a 500 naming the key, never garbage.
  const peeked = await peek(left);
  expect(peeked.status).toBe(500);
  expect(await peeked.json()).toEqual({ error: `job ${left} is encrypted with key "a", which is not among FERRY_CODEC_KEYS`, code: 'CODEC_KEY_UNKNOWN' });
  // A consume passes over it (it is the oldest) and takes the next job.
  const consume = () => fetch(`${ferry!.api.queueUrl}/api/${ns}/q?timeout=0&ttr=60`, { headers });
  const first = await consume();
  expect(first.status).toBe(200);
  expect(await first.json()).toMatchObject({ job_id: moved, data: base64('moved to b') });
  expect(await (await consume()).json()).toMatchObject({ job_id: fresh });
  // With only that job left, the consume answers its error.
  await eventually(async () => {
    const last = await consume();
    expect(last.status).toBe(500);
    expect(await last.json()).toEqual({ error: `job ${left} is encrypted with key "a", which is not among FERRY_CODEC_KEYS`, code: 'CODEC_KEY_UNKNOWN' });
  }, 40_000, 1000);
  // And the command says which workflow still needs a.
  expect(await codecKeysCommand(keyB)).toMatch(new RegExp(`key "a": 1 \\(${jobWorkflowId(ns, 'q', left)}\\)`));
}, 240_000);
