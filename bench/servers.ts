/**
 * `npm run bench:servers`: the ceiling (a workflow with one activity) and Ferry's publish -> consume
 * -> ack on each Temporal server Ferry could start — the embedded dev server as shipped, the dev
 * server with the dynamic config that might help, the full server on SQLite with 4 and 8 shards,
 * and the full server on PostgreSQL (`npm run start:cluster`'s shape) — with Ferry's load on one
 * queue and spread over 16, and lmstfy on Redis with the same HTTP client. Besides jobs/s, CPU
 * milliseconds per job of every process (Temporal, PostgreSQL, Ferry, the ceiling's worker,
 * lmstfy, Redis, this load client), read from /proc before and after each measurement: the figure
 * the machine's noise moves least, and the one that projects to a bigger machine.
 *
 * Bounded: FERRY_BENCH_SECONDS (8) per measurement, FERRY_BENCH_CLIENTS ("8,32"),
 * FERRY_BENCH_QUEUES ("1,16"), FERRY_BENCH_SERVERS ("dev,dev-tuned,sqlite4,sqlite8,postgres"),
 * FERRY_BENCH_LMSTFY ("1"; "0" skips it). Loopback only; every process stops at the end.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { startPostgres } from '../src/cluster/postgres';
import { ensureNamespace } from '../src/cluster/temporal-cluster';
import { startTemporalServer } from '../src/cluster/temporal-server';
import { startDevServer } from '../src/local-temporal/dev-server';
import { DYNAMIC_CONFIG_FILE } from '../src/local-temporal/dynamic-config';
import { freePort } from '../test/helpers/ports';
import type { Cycle, Measurement } from './cycles';
import { lmstfyCycle, measure, SECONDS } from './cycles';
import { startFerryProcess } from './ferry-process';
import { cpuMs, sleep, writeReport } from './lib';
import { startLmstfy, startProcess, startRedis } from './peers';

const CLIENTS = (process.env.FERRY_BENCH_CLIENTS ?? '8,32').split(',').map(Number);
const QUEUES = (process.env.FERRY_BENCH_QUEUES ?? '1,16').split(',').map(Number);
const SERVERS = (process.env.FERRY_BENCH_SERVERS ?? 'dev,dev-tuned,sqlite4,sqlite8,postgres').split(',') as ServerKind[];
const WITH_LMSTFY = process.env.FERRY_BENCH_LMSTFY !== '0';

type ServerKind = 'dev' | 'dev-tuned' | 'sqlite4' | 'sqlite8' | 'postgres';

/**
 * What the dev server forces or shrinks against the full server's defaults, undone: its search
 * attribute cache refreshed on every read, a history cache of 8,096, one shard read at a time, and
 * the task queues' 4 partitions (1 here: nothing to forward between partitions).
 */
const DEV_TUNED_CONFIG = [
  'system.forceSearchAttributesCacheRefreshOnRead=false',
  'history.hostLevelCacheMaxSize=131072',
  'history.shardIOConcurrency=8',
  'matching.numTaskqueueReadPartitions=1',
  'matching.numTaskqueueWritePartitions=1',
];

/** Every process of a user (PostgreSQL's postmaster and its backends). */
function pidsOf(user: string): number[] {
  const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((pid) => {
      try {
        return /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] === String(uid);
      } catch {
        return false;
      }
    });
}

interface Server {
  address: string;
  /** The processes whose CPU counts as the server's, by name. */
  processes(): Record<string, number[]>;
  stop(): Promise<void>;
}

async function startServer(kind: ServerKind): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), `ferry-bench-${kind}-`));
  // PostgreSQL runs as its own user, who must reach its data folder.
  chmodSync(dir, 0o755);
  const port = await freePort();
  if (kind === 'dev' || kind === 'dev-tuned') {
    const server = await startDevServer({
      dataDir: dir,
      host: '127.0.0.1',
      port,
      uiPort: await freePort(),
      namespace: 'default',
      extraDynamicConfig: kind === 'dev-tuned' ? DEV_TUNED_CONFIG : [],
    });
    return { address: server.address, processes: () => ({ temporal: [server.pid] }), stop: () => server.stop() };
  }
  const postgres = kind === 'postgres' ? startPostgres({ dataDir: join(dir, 'postgres'), host: '127.0.0.1', port: await freePort() }) : undefined;
  const temporal = await startTemporalServer({
    dataDir: join(dir, 'temporal'),
    store: postgres ? { postgres } : { sqlite: true },
    host: '127.0.0.1',
    port,
    shards: kind === 'sqlite4' ? 4 : 8,
    dynamicConfigFile: DYNAMIC_CONFIG_FILE,
  });
  await ensureNamespace(temporal.address, 'default');
  return {
    address: temporal.address,
    processes: () => ({ temporal: [temporal.pid], ...(postgres ? { postgres: pidsOf('postgres') } : {}) }),
    async stop() {
      await temporal.stop();
      await postgres?.stop();
    },
  };
}

interface Row {
  server: ServerKind | 'redis';
  system: 'ceiling' | 'ferry' | 'lmstfy';
  clients: number;
  queues: number;
  jobsPerSecond: number;
  cycleP50: number;
  /** CPU ms per job, by process. */
  cpuPerJob: Record<string, number>;
  /** For the first measurement on a server: how long it took to start, in ms. */
  startMs?: number;
}

/** Measures `cycle` and charges every process's CPU over the measurement to its jobs. */
async function measureWithCpu(processes: () => Record<string, number[]>, clients: number, cycle: Cycle): Promise<{ m: Measurement; cpuPerJob: Record<string, number> }> {
  const before = Object.fromEntries(Object.entries(processes()).map(([name, pids]) => [name, cpuMs(pids)]));
  const m = await measure(clients, cycle);
  const jobs = Math.max(1, m.jobsPerSecond * SECONDS);
  // PostgreSQL's backends come and go: read its processes again.
  const after = processes();
  const cpuPerJob = Object.fromEntries(Object.entries(after).map(([name, pids]) => [name, (cpuMs(pids) - (before[name] ?? 0)) / jobs]));
  return { m, cpuPerJob };
}

function log(row: Row): void {
  const cpu = Object.entries(row.cpuPerJob).map(([name, ms]) => `${name} ${ms.toFixed(1)}`).join(', ');
  console.log(
    `${row.server.padEnd(9)} ${row.system.padEnd(7)} ${String(row.clients).padStart(3)} clients ${String(row.queues).padStart(2)} queue(s) ` +
      `${row.jobsPerSecond.toFixed(1).padStart(7)} jobs/s  p50 ${row.cycleP50.toFixed(0)} ms  CPU-ms/job: ${cpu}`,
  );
}

async function measureLmstfy(rows: Row[]): Promise<void> {
  const [redisPort, port, adminPort] = [await freePort(), await freePort(), await freePort()];
  const redis = await startRedis(redisPort, false);
  try {
    const lmstfy = await startLmstfy(redisPort, port, adminPort);
    try {
      const processes = () => ({ lmstfy: [lmstfy.child.pid!], redis: [redis.child.pid!], 'load client': [process.pid] });
      for (const clients of CLIENTS) {
        const target = lmstfyCycle(`http://127.0.0.1:${port}`, `http://127.0.0.1:${adminPort}`, clients);
        await target.prepare();
        const { m, cpuPerJob } = await measureWithCpu(processes, clients, target.cycle(`q-lmstfy-${clients}`));
        await target.close();
        const row: Row = { server: 'redis', system: 'lmstfy', clients, queues: 1, jobsPerSecond: m.jobsPerSecond, cycleP50: m.cycle.p50, cpuPerJob };
        rows.push(row);
        log(row);
      }
    } finally {
      await lmstfy.stop();
    }
  } finally {
    await redis.stop();
  }
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  if (WITH_LMSTFY) await measureLmstfy(rows);
  for (const kind of SERVERS) {
    const started = Date.now();
    const server = await startServer(kind);
    let startMs: number | undefined = Date.now() - started;
    const stops: (() => Promise<void>)[] = [() => server.stop()];
    try {
      const ceilingWorker = startProcess(process.execPath, ['--import', 'tsx', join(__dirname, 'ceiling', 'worker.ts'), server.address, 'ceiling']);
      stops.unshift(() => ceilingWorker.stop());
      const ferry = await startFerryProcess(server.address, 'ferry-bench');
      stops.unshift(() => ferry.stop());
      while (!ceilingWorker.output.join('').includes('ready')) await sleep(100);
      const connection = await Connection.connect({ address: server.address });
      stops.unshift(() => connection.close());
      const client = new Client({ connection });
      const processes = () => ({ ...server.processes(), ferry: [ferry.pid], 'ceiling worker': [ceilingWorker.child.pid!], 'load client': [process.pid] });
      let seq = 0;
      for (const clients of CLIENTS) {
        const ceiling = await measureWithCpu(processes, clients, async () => {
          await client.workflow.execute('CeilingWorkflow', { taskQueue: 'ceiling', workflowId: `ceiling-${kind}-${clients}-${++seq}` });
          return true;
        });
        const runs: Row[] = [{ server: kind, system: 'ceiling', clients, queues: 1, jobsPerSecond: ceiling.m.jobsPerSecond, cycleP50: ceiling.m.cycle.p50, cpuPerJob: ceiling.cpuPerJob, startMs }];
        startMs = undefined;
        for (const queues of QUEUES) {
          const target = lmstfyCycle(ferry.base, ferry.admin, clients);
          await target.prepare();
          const cycles = Array.from({ length: queues }, (_, q) => target.cycle(`q-${kind}-${clients}-${queues}-${q}`));
          const { m, cpuPerJob } = await measureWithCpu(processes, clients, (c) => cycles[c % queues]!(c));
          await target.close();
          runs.push({ server: kind, system: 'ferry', clients, queues, jobsPerSecond: m.jobsPerSecond, cycleP50: m.cycle.p50, cpuPerJob });
        }
        for (const row of runs) log(row);
        rows.push(...runs);
      }
    } finally {
      for (const stop of stops) await stop().catch((err: unknown) => console.error(err));
    }
  }
  const file = writeReport(
    '-servers',
    'dev server (CLI v1.5.1, SQLite WAL) as shipped and tuned; temporal-server v1.29.1 on SQLite (4 and 8 shards) and on PostgreSQL 15 (8 shards); lmstfy v1.0.15 on Redis 7 (AOF everysec)',
    { rows },
  );
  writeFileSync(file.replace(/\.json$/, '.md'), table(rows));
  console.log(`\n${table(rows)}\nwritten ${file}`);
}

const sum = (r: Row) => Object.values(r.cpuPerJob).reduce((a, b) => a + b, 0);

function table(rows: Row[]): string {
  const names = [...new Set(rows.filter((r) => r.system === 'ferry').flatMap((r) => Object.keys(r.cpuPerJob)))].filter((n) => n !== 'ceiling worker');
  const [one, many] = [Math.min(...QUEUES), Math.max(...QUEUES)];
  const lines = [
    `| server | first start | clients | ceiling jobs/s | Ferry jobs/s, ${one} queue | Ferry, ${many} queues | Ferry ÷ ceiling | ${one} ÷ ${many} queues | Ferry CPU-ms/job (${one} queue): ${names.join(' / ')} | ceiling CPU-ms/job, all |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---|---:|',
  ];
  for (const server of SERVERS) {
    for (const clients of CLIENTS) {
      const of = (system: Row['system'], queues = one) => rows.find((r) => r.server === server && r.clients === clients && r.system === system && r.queues === queues);
      const [ceiling, hot, spread] = [of('ceiling'), of('ferry'), of('ferry', many)];
      if (!ceiling || !hot || !spread) continue;
      lines.push(
        `| ${server} | ${ceiling.startMs === undefined ? '' : `${(ceiling.startMs / 1000).toFixed(1)} s`} | ${clients} | ${ceiling.jobsPerSecond.toFixed(0)} | ${hot.jobsPerSecond.toFixed(0)} | ${spread.jobsPerSecond.toFixed(0)} | ` +
          `${(hot.jobsPerSecond / ceiling.jobsPerSecond).toFixed(2)} | ${(hot.jobsPerSecond / spread.jobsPerSecond).toFixed(2)} | ` +
          `${names.map((n) => (hot.cpuPerJob[n] ?? 0).toFixed(1)).join(' / ')} (all ${sum(hot).toFixed(1)}) | ${sum(ceiling).toFixed(1)} |`,
      );
    }
  }
  const lmstfy = rows.filter((r) => r.system === 'lmstfy');
  if (lmstfy.length > 0) {
    lines.push('', '| lmstfy on Redis | jobs/s | lmstfy ÷ Ferry (dev, 1 queue) | CPU-ms/job: lmstfy / redis / load client |', '|---:|---:|---:|---|');
    for (const r of lmstfy) {
      const ferry = rows.find((f) => f.server === 'dev' && f.system === 'ferry' && f.clients === r.clients && f.queues === one);
      lines.push(
        `| ${r.clients} clients | ${r.jobsPerSecond.toFixed(0)} | ${ferry ? `${(r.jobsPerSecond / ferry.jobsPerSecond).toFixed(0)}×` : ''} | ` +
          `${['lmstfy', 'redis', 'load client'].map((n) => (r.cpuPerJob[n] ?? 0).toFixed(2)).join(' / ')} |`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
