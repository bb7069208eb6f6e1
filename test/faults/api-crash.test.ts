import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { loadConfig } from '../../src/config';
import { FerryWorker } from '../../src/workers/worker';
import { TEST_CODEC_KEYS } from '../helpers/codec';
import { eventually } from '../helpers/eventually';
import { retryUnavailable, whileProgressing } from '../helpers/progressing';
import { freePort } from '../helpers/ports';
import type { TemporalEnv } from '../helpers/temporal';
import { createTemporalEnv, testTaskQueue } from '../helpers/temporal';

/**
 * An API process (`src/api/main.ts`) is SIGKILLed while consumers hold jobs and while consumes
 * are in flight. A new API process serves the queue: every job is consumed again, those held by the
 * dead process once their ttr ran out; none is lost.
 */
jest.setTimeout(5 * 60_000);

const JOBS = 200;
const TTR = 5;
const taskQueue = testTaskQueue(`ferry-api-crash-${process.pid}`);
const ns = 'apicrash';

let temporal: TemporalEnv;
let worker: FerryWorker;
let running: Promise<void>;
const apis: ChildProcess[] = [];

/** Starts `src/api/main.ts` in its own process; answers its queue and admin URLs once it listens. */
async function startApiProcess(): Promise<{ child: ChildProcess; queue: string; admin: string }> {
  const [apiPort, adminPort] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/api/main.ts'], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: temporal.connection.options.address,
      FERRY_TASK_QUEUE: taskQueue,
      FERRY_API_PORT: String(apiPort),
      FERRY_ADMIN_PORT: String(adminPort),
      FERRY_LOG_LEVEL: 'warn',
      FERRY_CODEC_KEYS: TEST_CODEC_KEYS,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  apis.push(child);
  const output: string[] = [];
  child.stdout.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr.on('data', (d: Buffer) => output.push(d.toString()));
  const admin = `http://127.0.0.1:${adminPort}`;
  await eventually(async () => expect((await fetch(`${admin}/health`)).status).toBe(200), 60_000, 200).catch((err: unknown) => {
    throw new Error(`API did not start: ${String(err)}\n${output.join('')}`);
  });
  return { child, queue: `http://127.0.0.1:${apiPort}`, admin };
}

beforeAll(async () => {
  temporal = await createTemporalEnv();
  worker = await FerryWorker.create({
    connection: temporal.nativeConnection,
    client: temporal.client,
    namespace: 'default',
    taskQueue,
    config: loadConfig({ FERRY_TASK_QUEUE: taskQueue }),
  });
  running = worker.run();
}, 120_000);

afterAll(async () => {
  for (const child of apis) child.kill('SIGKILL');
  worker?.shutdown();
  await running;
  await temporal?.teardown();
});

test('SIGKILL of an API process while consumers hold jobs: every job comes back after its ttr, none is lost', async () => {
  const first = await startApiProcess();
  const token = ((await (await fetch(`${first.admin}/token/${ns}?description=faults`, { method: 'POST' })).json()) as { token: string }).token;
  const headers = { 'x-token': token };
  // Three tries: a job not acked within its ttr comes back while it has tries left (with none it
  // would go to the dead letter, as in lmstfy).
  const published: string[] = [];
  for (let i = 0; i < JOBS; i += 50) {
    const body = JSON.stringify(Array.from({ length: 50 }, (_, n) => ({ n: i + n })));
    const res = await retryUnavailable(() => fetch(`${first.queue}/api/${ns}/work/bulk?ttl=0&tries=3`, { method: 'PUT', headers: { ...headers, 'Idempotency-Key': `work-${i}` }, body }));
    expect(res.status).toBe(201);
    published.push(...((await res.json()) as { job_ids: string[] }).job_ids);
  }

  // Consumers take 60 jobs through the first process and never ack them; more consumes are in
  // flight (one long poll on an empty queue, several batches) when the process dies.
  const held = new Set<string>();
  for (let i = 0; i < 6; i++) {
    const res = await fetch(`${first.queue}/api/${ns}/work?count=10&ttr=${TTR}`, { headers });
    for (const job of (await res.json()) as { job_id: string }[]) held.add(job.job_id);
  }
  expect(held.size).toBe(60);
  const inFlight = [
    fetch(`${first.queue}/api/${ns}/empty?timeout=30`, { headers }),
    ...Array.from({ length: 4 }, () => fetch(`${first.queue}/api/${ns}/work?count=10&ttr=${TTR}`, { headers })),
  ].map((p) => p.then(() => 'answered', () => 'cut off'));
  first.child.kill('SIGKILL');
  const killedAt = Date.now();
  const fates = await Promise.all(inFlight);

  const second = await startApiProcess();
  const consumed = new Map<string, number>();
  let heldBackAt = 0;
  await whileProgressing(
    async () => {
      for (;;) {
        const res = await fetch(`${second.queue}/api/${ns}/work?count=20&ttr=600&timeout=1`, { headers });
        if (res.status !== 200) break;
        for (const job of (await res.json()) as { job_id: string }[]) {
          consumed.set(job.job_id, Date.now());
          await fetch(`${second.queue}/api/${ns}/work/job/${job.job_id}`, { method: 'DELETE', headers });
        }
      }
      expect(published.filter((id) => !consumed.has(id))).toEqual([]);
    },
    { progress: () => consumed.size, describe: () => `${consumed.size} of ${published.length} jobs consumed through the new process, ${held.size} were held by the killed one` },
  );
  heldBackAt = Math.min(...[...held].map((id) => consumed.get(id)!));
  // The jobs the dead process's consumers held came back only once their ttr was over.
  expect(heldBackAt - killedAt).toBeGreaterThanOrEqual(TTR * 1000 - 2000);
  expect((await (await fetch(`${second.queue}/api/${ns}/work/size`)).json()) as { size: number }).toMatchObject({ size: 0 });
  console.log(
    `API SIGKILL: ${JOBS} jobs, ${held.size} held by consumers of the killed process, in-flight consumes ${fates.join('/')}; ` +
      `all ${consumed.size} consumed through a new process, the held ones from ${heldBackAt - killedAt} ms after the kill`,
  );
});
