/**
 * `npm run bench:lifecycle`: publish -> consume -> ack at 1, 8, 32 and 128 concurrent clients, for
 * Ferry, Temporal's ceiling on the same dev server (a trivial workflow with one activity), lmstfy
 * and BullMQ, in the same run; twice: with each store as it ships, and with a sync to disk on every
 * write. Every figure is jobs acked per second over a fixed window; ratios are taken per run.
 *
 * Bounded: FERRY_BENCH_SECONDS (8) per measurement, FERRY_BENCH_RUNS (3), FERRY_BENCH_CLIENTS
 * ("1,8,32,128"), FERRY_BENCH_MODES ("shipped,fsync"). Loopback only; every process stops at the end.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { startDevServer } from '../src/local-temporal/dev-server';
import { freePort } from '../test/helpers/ports';
import type { Cycle, Measurement } from './cycles';
import { lmstfyCycle, measure, median, spread } from './cycles';
import { sleep, writeReport } from './lib';
import type { BullMQ, Peer, RedisOptions } from './peers';
import { startFerryProcess } from './ferry-process';
import { bullmqVersion, obtainBullMQ, obtainLmstfy, obtainRedis, startLmstfy, startProcess, startRedis } from './peers';

const RUNS = Number(process.env.FERRY_BENCH_RUNS ?? 3);
const CLIENTS = (process.env.FERRY_BENCH_CLIENTS ?? '1,8,32,128').split(',').map(Number);
const MODES = (process.env.FERRY_BENCH_MODES ?? 'shipped,fsync').split(',') as Mode[];
const SYSTEMS = ['ceiling', 'ferry', 'lmstfy', 'bullmq'] as const;

type Mode = 'shipped' | 'fsync';
type System = (typeof SYSTEMS)[number];
/** BullMQ worked by hand, as a consumer of an HTTP queue works: add, take the next job, complete it. */
async function bullCycle(bull: BullMQ, connection: RedisOptions, queueName: string, clients: number) {
  const queue = new bull.Queue(queueName, { connection });
  const workers = Array.from({ length: clients }, () => new bull.Worker(queueName, undefined, { connection, autorun: false }));
  const cycle: Cycle = async (client) => {
    await queue.add('job', 'x');
    const token = `t${client}`;
    const job = await workers[client]!.getNextJob(token);
    if (!job) return false;
    await job.moveToCompleted('ok', token, false);
    return true;
  };
  return { cycle, close: async () => void (await Promise.all([queue.close(), ...workers.map((w) => w.close())])) };
}

async function waitForOutput(output: string[], text: string, what: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  while (!output.join('').includes(text)) {
    if (Date.now() > deadline) throw new Error(`${what} did not start:\n${output.join('')}`);
    await sleep(100);
  }
}

interface Setup {
  measure(system: System, clients: number, label: string): Promise<Measurement>;
  stop(): Promise<void>;
}

async function startMode(mode: Mode): Promise<Setup> {
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch((err: unknown) => console.error(err));
  };
  try {
    const [temporalPort, uiPort, redisPort, lmstfyPort, lmstfyAdmin] = await Promise.all(Array.from({ length: 5 }, () => freePort()));
    const server = await startDevServer({
      dataDir: mkdtempSync(join(tmpdir(), 'ferry-bench-temporal-')),
      host: '127.0.0.1',
      port: temporalPort!,
      uiPort: uiPort!,
      namespace: 'default',
      sqliteSynchronous: mode === 'fsync' ? 'full' : 'normal',
    });
    stops.push(() => server.stop());

    const tsx = ['--import', 'tsx'];
    const ceilingWorker = startProcess(process.execPath, [...tsx, join(__dirname, 'ceiling', 'worker.ts'), server.address, 'ceiling']);
    stops.push(() => ceilingWorker.stop());
    const ferry = await startFerryProcess(server.address, 'ferry-bench');
    stops.push(() => ferry.stop());
    await waitForOutput(ceilingWorker.output, 'ready', 'the ceiling worker');
    const connection = await Connection.connect({ address: server.address });
    stops.push(() => connection.close());
    const client = new Client({ connection });

    const redis: Peer = await startRedis(redisPort!, mode === 'fsync');
    stops.push(() => redis.stop());
    const lmstfy = await startLmstfy(redisPort!, lmstfyPort!, lmstfyAdmin!);
    stops.push(() => lmstfy.stop());
    const bull = obtainBullMQ();
    const redisOptions: RedisOptions = { host: '127.0.0.1', port: redisPort!, maxRetriesPerRequest: null };

    let seq = 0;
    return {
      async measure(system, clients, label) {
        const queue = `${system}-${label}-${++seq}`;
        if (system === 'ceiling') {
          return measure(clients, async () => {
            await client.workflow.execute('CeilingWorkflow', { taskQueue: 'ceiling', workflowId: `${queue}-${++seq}` });
            return true;
          });
        }
        if (system === 'bullmq') {
          const bullmq = await bullCycle(bull, redisOptions, queue, clients);
          try {
            return await measure(clients, bullmq.cycle);
          } finally {
            await bullmq.close();
          }
        }
        const target =
          system === 'ferry'
            ? lmstfyCycle(ferry.base, ferry.admin, clients)
            : lmstfyCycle(`http://127.0.0.1:${lmstfyPort}`, `http://127.0.0.1:${lmstfyAdmin}`, clients);
        try {
          await target.prepare();
          return await measure(clients, target.cycle(queue));
        } finally {
          await target.close();
        }
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

async function main(): Promise<void> {
  // `--table <results.json>` only renders a past run's table again.
  const [flag, past] = process.argv.slice(2);
  if (flag === '--table' && past) return void console.log(table((JSON.parse(readFileSync(past, 'utf8')) as { results: Results }).results));
  // Obtain everything before any clock starts.
  obtainRedis();
  obtainLmstfy();
  obtainBullMQ();
  const results: Results = {};
  for (const mode of MODES) {
    const setup = await startMode(mode);
    try {
      results[mode] = {};
      for (let run = 1; run <= RUNS; run++) {
        for (const clients of CLIENTS) {
          const row = (results[mode][clients] ??= { ceiling: [], ferry: [], lmstfy: [], bullmq: [] });
          for (const system of SYSTEMS) {
            const m = await setup.measure(system, clients, `r${run}c${clients}`);
            row[system].push(m);
            console.log(`${mode} run ${run} clients ${String(clients).padStart(3)} ${system.padEnd(8)} ${m.jobsPerSecond.toFixed(1).padStart(8)} jobs/s  cycle p50 ${m.cycle.p50.toFixed(1)} ms p99 ${m.cycle.p99.toFixed(1)} ms`);
          }
        }
      }
    } finally {
      await setup.stop();
    }
  }
  const file = writeReport('-lifecycle', describeServers(), results);
  writeFileSync(file.replace(/\.json$/, '.md'), table(results));
  console.log(`\n${table(results)}\nwritten ${file}`);
}

const describeServers = () =>
  `temporal server start-dev (CLI v1.5.1, SQLite WAL; shipped: synchronous=normal, fsync: synchronous=full), ` +
  `Ferry as one process (src/main.ts: worker + API), ceiling worker in its own process; lmstfy v1.0.15 and bullmq ${bullmqVersion()} ` +
  `on Debian's redis-server with appendonly yes (shipped: appendfsync everysec; fsync: appendfsync always)`;

type Results = Record<string, Record<string, Record<System, Measurement[]>>>;

/**
 * The markdown table BENCHMARKS.md carries: median (min–max) jobs/s, Ferry as a fraction of the
 * ceiling, and how many times Ferry's rate each peer reaches; every ratio is taken within one run,
 * then the median of the runs is shown.
 */
function table(results: Results): string {
  const lines: string[] = [];
  for (const [mode, byClients] of Object.entries(results)) {
    lines.push(`#### ${mode}`, '', '| clients | ceiling | Ferry | lmstfy | BullMQ | Ferry ÷ ceiling | lmstfy ÷ Ferry | BullMQ ÷ Ferry |', '|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const [clients, row] of Object.entries(byClients)) {
      const rate = (s: System) => row[s].map((m) => m.jobsPerSecond);
      const cell = (s: System) => `${median(rate(s)).toFixed(0)} (${spread(rate(s))})`;
      const ratio = (a: System, b: System, digits: number) => median(rate(a).map((x, i) => x / (rate(b)[i] || NaN))).toFixed(digits);
      lines.push(`| ${clients} | ${cell('ceiling')} | ${cell('ferry')} | ${cell('lmstfy')} | ${cell('bullmq')} | ${ratio('ferry', 'ceiling', 2)} | ${ratio('lmstfy', 'ferry', 0)}× | ${ratio('bullmq', 'ferry', 0)}× |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
