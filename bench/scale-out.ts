/**
 * `npm run bench:scale-out`: the lifecycle (publish -> consume -> ack) at FERRY_BENCH_SCALE_CLIENTS
 * (32) clients against one dev server, with 1 API + 1 worker, 1 API + 2 workers and 2 APIs + 1
 * worker, each in its own process; FERRY_BENCH_RUNS (3) interleaved runs of FERRY_BENCH_SECONDS.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { startDevServer } from '../src/local-temporal/dev-server';
import { freePort } from '../test/helpers/ports';
import { activityPollers } from '../test/helpers/worker-process';
import type { Measurement } from './cycles';
import { lmstfyCycle, measure, median, spread } from './cycles';
import { sleep, writeReport } from './lib';
import { startProcess, waitForPort } from './peers';

const RUNS = Number(process.env.FERRY_BENCH_RUNS ?? 3);
const CLIENTS = Number(process.env.FERRY_BENCH_SCALE_CLIENTS ?? 32);
const taskQueue = 'ferry-scale-out';
const tsx = ['--import', 'tsx'];
const root = join(__dirname, '..');

type Shape = { name: string; apis: number; workers: number };
const SHAPES: Shape[] = [
  { name: '1 API + 1 worker', apis: 1, workers: 1 },
  { name: '1 API + 2 workers', apis: 1, workers: 2 },
  { name: '2 APIs + 1 worker', apis: 2, workers: 1 },
];

async function main(): Promise<void> {
  const server = await startDevServer({
    dataDir: mkdtempSync(join(tmpdir(), 'ferry-bench-scale-')),
    host: '127.0.0.1',
    port: await freePort(),
    uiPort: await freePort(),
    namespace: 'default',
  });
  const connection = await Connection.connect({ address: server.address });
  const env = { ...process.env, TEMPORAL_ADDRESS: server.address, FERRY_TASK_QUEUE: taskQueue, FERRY_LOG_LEVEL: 'warn', FERRY_TOKEN_REFRESH_MS: '500' };
  const running: { stop(): Promise<void> }[] = [];
  const results: Record<string, Measurement[]> = {};
  try {
    const workers = [];
    for (let i = 0; i < 2; i++) {
      const metrics = await freePort();
      workers.push({ metrics, start: () => startProcess(process.execPath, [...tsx, join(root, 'src/workers/main.ts')], { ...env, FERRY_WORKER_METRICS_PORT: String(metrics) }) });
    }
    const apis = [];
    for (let i = 0; i < 2; i++) {
      const [port, admin] = [await freePort(), await freePort()];
      const child = startProcess(process.execPath, [...tsx, join(root, 'src/api/main.ts')], { ...env, FERRY_API_PORT: String(port), FERRY_ADMIN_PORT: String(admin) });
      running.push(child);
      apis.push({ base: `http://127.0.0.1:${port}`, admin: `http://127.0.0.1:${admin}`, child, port });
    }
    let worker2: ReturnType<typeof startProcess> | undefined;
    const worker1 = workers[0]!.start();
    running.push(worker1);
    for (const api of apis) await waitForPort(api.port, 'Ferry API', api.child.output, 120_000);

    let seq = 0;
    for (let run = 1; run <= RUNS; run++) {
      for (const shape of SHAPES) {
        if (shape.workers === 2 && !worker2) {
          worker2 = workers[1]!.start();
          running.push(worker2);
        }
        if (shape.workers === 1 && worker2) {
          await worker2.stop();
          worker2 = undefined;
        }
        // The server lists a stopped worker's pollers for a while: wait for enough, not for exactly.
        while ((await activityPollers(connection, taskQueue)).length < shape.workers) await sleep(250);
        const targets = apis.slice(0, shape.apis).map((api) => lmstfyCycle(api.base, api.admin, CLIENTS));
        for (const t of targets) await t.prepare();
        const queue = `scale-${++seq}`;
        const cycles = targets.map((t) => t.cycle(queue));
        const m = await measure(CLIENTS, (client) => cycles[client % cycles.length]!(client));
        await Promise.all(targets.map((t) => t.close()));
        (results[shape.name] ??= []).push(m);
        console.log(`run ${run} ${shape.name.padEnd(18)} ${m.jobsPerSecond.toFixed(1).padStart(7)} jobs/s  cycle p50 ${m.cycle.p50.toFixed(0)} ms p99 ${m.cycle.p99.toFixed(0)} ms`);
      }
    }
  } finally {
    for (const p of running.reverse()) await p.stop();
    await connection.close();
    await server.stop();
  }
  const base = results[SHAPES[0]!.name]!.map((m) => m.jobsPerSecond);
  const lines = [`| shape (${CLIENTS} clients) | jobs/s median (min–max) | vs 1 API + 1 worker |`, '|---|---:|---:|'];
  for (const shape of SHAPES) {
    const rates = results[shape.name]!.map((m) => m.jobsPerSecond);
    lines.push(`| ${shape.name} | ${median(rates).toFixed(0)} (${spread(rates)}) | ${median(rates.map((r, i) => r / base[i]!)).toFixed(2)} |`);
  }
  const file = writeReport('-scale-out', 'temporal server start-dev (CLI v1.5.1, SQLite WAL synchronous=normal); API and worker processes from src/api/main.ts and src/workers/main.ts', results);
  writeFileSync(file.replace(/\.json$/, '.md'), `${lines.join('\n')}\n`);
  console.log(`\n${lines.join('\n')}\nwritten ${file}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
