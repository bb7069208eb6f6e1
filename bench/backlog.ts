/**
 * `npm run bench:backlog`: FERRY_BENCH_BACKLOG (20,000) ready jobs and as many delayed ones (1 day)
 * in one queue, on a dev server persisting to SQLite: publish rate while the queue grows, `size`
 * and `peek` latency on the full queue, consume + ack rate while draining the first 5,000, and the
 * disk (SQLite file and WAL) and resident memory (server, Ferry) each job costs. The 1M is
 * `FERRY_BENCH_BACKLOG=1000000` (about an hour per million at this machine's publish rate).
 */
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { startDevServer } from '../src/temporal/dev-server';
import { freePort } from '../test/helpers/ports';
import { startFerryProcess } from './ferry-process';
import { since, summarize, writeReport } from './lib';

const N = Number(process.env.FERRY_BENCH_BACKLOG ?? 20_000);
const DRAIN = Math.min(5000, N);
const BULK = 64;
const LANES = 8;

const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const dirMiB = (dir: string) => readdirSync(dir).reduce((sum, f) => sum + statSync(join(dir, f)).size, 0) / 2 ** 20;

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ferry-bench-backlog-'));
  const server = await startDevServer({ dataDir, host: '127.0.0.1', port: await freePort(), uiPort: await freePort(), namespace: 'default' });
  const ferry = await startFerryProcess(server.address, 'ferry-backlog');
  const pool = new Pool(ferry.base, { connections: LANES * 2 });
  const results: Record<string, unknown> = {};
  const record = (name: string, value: unknown) => {
    results[name] = value;
    console.log(`${name.padEnd(52)} ${JSON.stringify(value)}`);
  };
  try {
    const created = await fetch(`${ferry.admin}/token/backlog?description=bench`, { method: 'POST' });
    const token = ((await created.json()) as { token: string }).token;
    const headers = { 'x-token': token };
    const before = { disk: dirMiB(dataDir), server: rssMiB(server.pid), ferry: rssMiB(ferry.pid) };

    /** Bulk-publishes `count` jobs on LANES connections; answers jobs/s. */
    const fill = async (query: string, label: string) => {
      let next = 0;
      const start = process.hrtime.bigint();
      await Promise.all(
        Array.from({ length: LANES }, async () => {
          for (let batch = next++; batch * BULK < N; batch = next++) {
            const body = JSON.stringify(Array.from({ length: Math.min(BULK, N - batch * BULK) }, (_, i) => `${label}-${batch * BULK + i}`));
            for (;;) {
              const res = await pool.request({ method: 'PUT', path: `/api/backlog/q/bulk?${query}`, body, headers: { ...headers, 'idempotency-key': `${label}-${batch}` } });
              const text = await res.body.text();
              if (res.statusCode === 201) break;
              if (res.statusCode !== 503) throw new Error(`bulk publish: ${res.statusCode} ${text}`);
            }
          }
        }),
      );
      return Math.round(N / (since(start) / 1000));
    };
    record(`publish ${N} ready jobs, 64 per call, 8 lanes (jobs/s)`, await fill('ttl=0', 'ready'));
    record(`publish ${N} delayed jobs (1 day) (jobs/s)`, await fill('ttl=0&delay=86400', 'delayed'));

    const timed = async (n: number, path: string) => {
      const samples: number[] = [];
      for (let i = 0; i < n; i++) {
        const t = process.hrtime.bigint();
        const res = await pool.request({ method: 'GET', path, headers });
        await res.body.dump();
        samples.push(since(t));
      }
      return summarize(samples);
    };
    record(`size with ${N} ready + ${N} delayed (ms)`, await timed(50, '/api/backlog/q/size'));
    record(`peek with ${N} ready + ${N} delayed (ms)`, await timed(50, '/api/backlog/q/peek'));

    const after = { disk: dirMiB(dataDir), server: rssMiB(server.pid), ferry: rssMiB(ferry.pid) };
    const perJob = (mib: number) => Math.round((mib * 2 ** 20) / (2 * N));
    record('SQLite (file + WAL) per job (bytes)', perJob(after.disk - before.disk));
    record('dev server resident memory per job (bytes)', perJob(after.server - before.server));
    record('Ferry process resident memory per job (bytes)', perJob(after.ferry - before.ferry));
    record('resident memory after filling (MiB)', { server: Math.round(after.server), ferry: Math.round(after.ferry) });

    let consumed = 0;
    const start = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: LANES }, async () => {
        while (consumed < DRAIN) {
          const res = await pool.request({ method: 'GET', path: '/api/backlog/q?ttr=60&timeout=1', headers });
          if (res.statusCode !== 200) throw new Error(`consume: ${res.statusCode} ${await res.body.text()}`);
          const { job_id: id } = (await res.body.json()) as { job_id: string };
          const acked = await pool.request({ method: 'DELETE', path: `/api/backlog/q/job/${id}`, headers });
          await acked.body.dump();
          consumed++;
        }
      }),
    );
    record(`consume + ack ${consumed} from the full queue, 8 lanes (jobs/s)`, Math.round(consumed / (since(start) / 1000)));
    console.log(`written ${writeReport('-backlog', 'temporal server start-dev (CLI v1.5.1, SQLite WAL synchronous=normal), Ferry as one process (src/main.ts)', results)}`);
  } finally {
    await pool.close();
    await ferry.stop();
    await server.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
