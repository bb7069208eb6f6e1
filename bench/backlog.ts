/**
 * `npm run bench:backlog`: FERRY_BENCH_BACKLOG (20,000) ready jobs and as many delayed ones (1 day)
 * in one queue, on a dev server persisting to SQLite: publish rate while the queue grows (each
 * minute, with memory and disk), `size` and `peek` latency on the full queue, consume + ack rate
 * while draining the first 5,000, and the disk (SQLite file and WAL) and resident memory (server,
 * Ferry) each job costs. The 1M is `FERRY_BENCH_BACKLOG=1000000`; the two counts can be set
 * apart (FERRY_BENCH_BACKLOG_READY, FERRY_BENCH_BACKLOG_DELAYED), and filling stops after
 * FERRY_BENCH_BACKLOG_MINUTES (240) in all, the counts reached being reported.
 *
 * A million takes longer than one sitting on a small machine (the fill runs at the rate the server
 * absorbs, ~50 jobs/s here), so with FERRY_BENCH_BACKLOG_DIR the fill is resumable: the dev
 * server's SQLite and the progress (`state.json`) live in that folder and are kept; a run fills
 * until its minutes are up, writes a `-backlog-segment` report and stops; the next run with the same
 * folder restarts the server on the same data and goes on from the first batch not known to be
 * done (a batch published twice names the same jobs through its Idempotency-Key, so overlap is
 * harmless). Once both counts are reached it measures size, peek and the drain as a single run does.
 * The delayed jobs are then due in 30 days rather than 1, so they stay delayed across sittings.
 * SIGTERM to this process ends a sitting early, cleanly.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { Pool } from 'undici';
import { startDevServer } from '../src/local-temporal/dev-server';
import { freePort } from '../test/helpers/ports';
import { startFerryProcess } from './ferry-process';
import { since, sleep, summarize, writeReport } from './lib';

const N = Number(process.env.FERRY_BENCH_BACKLOG ?? 20_000);
const READY = Number(process.env.FERRY_BENCH_BACKLOG_READY ?? N);
const DELAYED = Number(process.env.FERRY_BENCH_BACKLOG_DELAYED ?? N);
let fillDeadline = Date.now() + Number(process.env.FERRY_BENCH_BACKLOG_MINUTES ?? 240) * 60_000;
// SIGTERM ends the fill as its minutes running out would: batches in flight finish, the sitting's
// report and progress are written, the server and Ferry stop. (Not Ctrl-C: it reaches Ferry too.)
process.once('SIGTERM', () => {
  console.log('SIGTERM: the fill stops after the batches in flight');
  fillDeadline = Date.now();
});
const SETTLE_DEADLINE_MS = Number(process.env.FERRY_BENCH_BACKLOG_SETTLE_MINUTES ?? 30) * 60_000;
const KEPT_DIR = process.env.FERRY_BENCH_BACKLOG_DIR;
const DELAY_S = KEPT_DIR === undefined ? 86_400 : 30 * 86_400;
const DRAIN = Math.min(5000, READY);
const BULK = 64;
const SERVER = 'temporal server start-dev (CLI v1.5.1, SQLite WAL synchronous=normal), Ferry as one process (src/main.ts)';
const LANES = 8;

const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const dirMiB = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('temporal.sqlite')).reduce((sum, f) => sum + statSync(join(dir, f)).size, 0) / 2 ** 20;

type Phase = 'ready' | 'delayed';
/** What a resumable fill has done so far (`state.json` in FERRY_BENCH_BACKLOG_DIR). */
interface FillState {
  token?: string;
  /** SQLite size before the first job. */
  diskMiBBefore?: number;
  /** Per phase: batches below this index are published. */
  nextBatch: Record<Phase, number>;
  /** Per phase, one summary per sitting. */
  segments: Record<Phase, unknown[]>;
  /** Results measured once a phase was complete. */
  results: Record<string, unknown>;
}

async function main(): Promise<void> {
  const dataDir = KEPT_DIR ?? mkdtempSync(join(tmpdir(), 'ferry-bench-backlog-'));
  mkdirSync(dataDir, { recursive: true });
  const stateFile = join(dataDir, 'state.json');
  const state: FillState = existsSync(stateFile)
    ? (JSON.parse(readFileSync(stateFile, 'utf8')) as FillState)
    : { nextBatch: { ready: 0, delayed: 0 }, segments: { ready: [], delayed: [] }, results: {} };
  const saveState = () => KEPT_DIR !== undefined && writeFileSync(stateFile, `${JSON.stringify(state, null, 2)}\n`);
  const resumed = state.token !== undefined;
  const server = await startDevServer({ dataDir, host: '127.0.0.1', port: await freePort(), uiPort: await freePort(), namespace: 'default' });
  const ferry = await startFerryProcess(server.address, 'ferry-backlog');
  const pool = new Pool(ferry.base, { connections: LANES * 2 });
  const results = state.results;
  const record = (name: string, value: unknown) => {
    results[name] = value;
    console.log(`${name.padEnd(52)} ${JSON.stringify(value)}`);
  };
  const usage = () => ({ diskMiB: Math.round(dirMiB(dataDir)), serverMiB: Math.round(rssMiB(server.pid)), ferryMiB: Math.round(rssMiB(ferry.pid)) });
  const connection = await Connection.connect({ address: server.address });
  let failed = false;
  /**
   * Workflow tasks of job workflows waiting in the task queue: a publish is answered once its job
   * workflow is started, and the job's first workflow task may run much later. Approximate: the
   * server caches these statistics for about 5 s.
   */
  const jobTaskBacklog = async () => {
    const { stats } = await connection.workflowService.describeTaskQueue({
      namespace: 'default',
      taskQueue: { name: 'ferry-backlog' },
      taskQueueType: 1, // TASK_QUEUE_TYPE_WORKFLOW
      reportStats: true,
    });
    return { tasks: Number(stats?.approximateBacklogCount ?? 0), oldestSeconds: Number(stats?.approximateBacklogAge?.seconds ?? 0) };
  };
  /** Waits (bounded) until the job workflows' task backlog is gone; answers the seconds it took, or null. */
  const settle = async (label: string) => {
    const start = Date.now();
    for (;;) {
      const backlog = await jobTaskBacklog();
      if (backlog.tasks === 0) return Math.round((Date.now() - start) / 1000);
      if (Date.now() - start > SETTLE_DEADLINE_MS) return null;
      console.log(`  ${label}, settling: ${JSON.stringify(backlog)}`);
      await sleep(5000);
    }
  };
  try {
    if (state.token === undefined) {
      const created = await fetch(`${ferry.admin}/token/backlog?description=bench`, { method: 'POST' });
      state.token = ((await created.json()) as { token: string }).token;
      state.diskMiBBefore = usage().diskMiB;
      saveState();
    }
    const headers = { 'x-token': state.token };
    const before = { ...usage(), diskMiB: state.diskMiBBefore ?? 0 };

    const retryAfterMs = (res: { headers: Record<string, string | string[] | undefined> }) => Number(res.headers['retry-after'] ?? 1) * 1000;
    /**
     * Publishes one job to a queue of its own and times until a consumer gets it: how long a new job
     * waits while the big queue fills, refusals (503, Retry-After honoured) included.
     */
    const probeFreshJob = async () => {
      const start = Date.now();
      for (;;) {
        const res = await pool.request({ method: 'PUT', path: '/api/backlog/probe?ttl=0', body: 'probe', headers });
        const text = await res.body.text();
        if (res.statusCode === 201) break;
        if (res.statusCode < 500) throw new Error(`probe publish: ${res.statusCode} ${text}`);
        await sleep(retryAfterMs(res));
      }
      const acceptedAfterS = (Date.now() - start) / 1000;
      while (Date.now() - start < 10 * 60_000) {
        const res = await pool.request({ method: 'GET', path: '/api/backlog/probe?ttr=60&timeout=10', headers });
        if (res.statusCode !== 200) {
          await res.body.dump();
          continue;
        }
        const { job_id: id } = (await res.body.json()) as { job_id: string };
        await (await pool.request({ method: 'DELETE', path: `/api/backlog/probe/job/${id}`, headers })).body.dump();
        return { acceptedAfterS, consumedAfterS: (Date.now() - start) / 1000 };
      }
      return { acceptedAfterS, consumedAfterS: null };
    };

    /**
     * Bulk-publishes a phase's jobs up to `count` on LANES connections, from its first batch not
     * known to be done, until the fill deadline; answers how many this sitting and how fast.
     */
    const fill = async (count: number, query: string, label: Phase) => {
      let next = state.nextBatch[label];
      let published = 0;
      const done = new Set<number>();
      const noteProgress = () => {
        while (done.delete(state.nextBatch[label])) state.nextBatch[label]++;
        saveState();
      };
      const refused: Record<number, number> = {};
      const start = process.hrtime.bigint();
      const progress: Array<Record<string, unknown>> = [];
      let lastCount = 0;
      const probes: { acceptedAfterS: number; consumedAfterS: number | null }[] = [];
      let probing = false;
      const ticker = setInterval(() => {
        const sample = { minute: progress.length + 1, published, jobsPerSecond: Math.round((published - lastCount) / 60), ...usage(), lastProbe: probes.at(-1) };
        lastCount = published;
        noteProgress();
        if (!probing) {
          probing = true;
          void probeFreshJob()
            .then((probe) => probes.push(probe), (err: unknown) => console.log(`  probe failed: ${String(err)}`))
            .finally(() => (probing = false));
        }
        void jobTaskBacklog()
          .catch(() => null)
          .then((backlog) => {
            progress.push({ ...sample, jobTaskBacklog: backlog });
            console.log(`  ${label}: ${JSON.stringify(progress.at(-1))}`);
          });
      }, 60_000);
      try {
        await Promise.all(
          Array.from({ length: LANES }, async () => {
            for (let batch = next++; batch * BULK < count && Date.now() < fillDeadline; batch = next++) {
              const size = Math.min(BULK, count - batch * BULK);
              const body = JSON.stringify(Array.from({ length: size }, (_, i) => `${label}-${batch * BULK + i}`));
              for (;;) {
                const res = await pool.request({ method: 'PUT', path: `/api/backlog/q/bulk?${query}`, body, headers: { ...headers, 'idempotency-key': `${label}-${batch}` } });
                const text = await res.body.text();
                if (res.statusCode === 201) break;
                refused[res.statusCode] = (refused[res.statusCode] ?? 0) + 1;
                // Any 5xx is retried with the same Idempotency-Key (what the README tells clients) and counted.
                if (res.statusCode < 500) throw new Error(`bulk publish: ${res.statusCode} ${text}`);
                await sleep(retryAfterMs(res));
              }
              published += size;
              done.add(batch);
            }
          }),
        );
      } finally {
        clearInterval(ticker);
        noteProgress();
      }
      const seconds = since(start) / 1000;
      const backlogAtEnd = await jobTaskBacklog();
      const settleSeconds = await settle(label);
      return {
        published,
        inQueue: Math.min(count, state.nextBatch[label] * BULK),
        jobsPerSecond: Math.round(published / seconds),
        refusedByStatus: refused,
        backlogAtEnd,
        settleSeconds,
        // Published and every job's first workflow task run: what the system absorbed, not only accepted.
        absorbedPerSecond: settleSeconds === null ? null : Math.round(published / (seconds + settleSeconds)),
        // A new job published once a minute while filling: seconds until accepted, and until consumed.
        freshJobSeconds: probes.length === 0 ? null : {
          accepted: summarize(probes.map((p) => p.acceptedAfterS)),
          consumed: summarize(probes.map((p) => p.consumedAfterS ?? Infinity)),
        },
        progress,
      };
    };

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
    const sizeAndPeek = async (label: string) => {
      record(`size with ${label} (ms)`, await timed(50, '/api/backlog/q/size'));
      record(`peek with ${label} (ms)`, await timed(50, '/api/backlog/q/peek'));
      // Ready jobs only (lmstfy's size); with the delayed ones, the same number tells they stayed delayed.
      const answered = await pool.request({ method: 'GET', path: '/api/backlog/q/size', headers });
      record(`size answered with ${label}`, await answered.body.json());
    };

    /** Fills a phase (or what is left of it); answers whether all its jobs are in the queue. */
    const runPhase = async (phase: Phase, count: number, query: string, title: string) => {
      if (state.nextBatch[phase] * BULK < count && Date.now() < fillDeadline) {
        const { progress, ...summary } = await fill(count, query, phase);
        state.segments[phase].push({ at: new Date().toISOString(), ...summary, progress });
        const sittings = state.segments[phase] as Array<{ progress: unknown[] }>;
        record(title, sittings.length === 1 ? summary : sittings.map(({ progress: _, ...sitting }) => sitting));
        results[`${phase} fill, each minute`] = sittings.flatMap((sitting) => sitting.progress);
        saveState();
      }
      return state.nextBatch[phase] * BULK >= count;
    };
    const sizeAndPeekOnce = async (label: string) => {
      if (results[`size with ${label} (ms)`] === undefined) await sizeAndPeek(label);
      saveState();
    };

    const inQueue = (phase: Phase, count: number) => Math.min(count, state.nextBatch[phase] * BULK);
    const readyDone = await runPhase('ready', READY, 'ttl=0', `publish ${READY} ready jobs, 64 per call, 8 lanes`);
    // A single run measures what it filled in its minutes; a resumable one only a complete phase.
    if (readyDone || KEPT_DIR === undefined) {
      results['usage after the ready fill'] ??= usage();
      await sizeAndPeekOnce(`${inQueue('ready', READY)} ready`);
    }
    const complete = readyDone && (await runPhase('delayed', DELAYED, `ttl=0&delay=${DELAY_S}`, `publish ${DELAYED} delayed jobs (${DELAY_S / 86_400} days)`));
    if (!complete && KEPT_DIR !== undefined) {
      record('usage when this sitting stopped', usage());
      console.log(`written ${writeReport('-backlog-segment', SERVER, results)}; run again with FERRY_BENCH_BACKLOG_DIR=${dataDir} to go on`);
      return;
    }
    const [readyJobs, delayedJobs] = [inQueue('ready', READY), inQueue('delayed', DELAYED)];
    const label = `${readyJobs} ready + ${delayedJobs} delayed`;
    await sizeAndPeekOnce(label);

    const afterReady = results['usage after the ready fill'] as ReturnType<typeof usage>;
    const after = usage();
    const perJob = (mib: number, jobs: number) => (jobs === 0 ? null : Math.round((mib * 2 ** 20) / jobs));
    const jobs = readyJobs + delayedJobs;
    record('SQLite (file + WAL) per job (bytes), ready / all', [perJob(afterReady.diskMiB - before.diskMiB, readyJobs), perJob(after.diskMiB - before.diskMiB, jobs)]);
    // Resident memory is only comparable within one sitting: a resumed fill restarted both processes.
    if (!resumed) {
      record('dev server resident memory per job (bytes), ready / all', [perJob(afterReady.serverMiB - before.serverMiB, readyJobs), perJob(after.serverMiB - before.serverMiB, jobs)]);
      record('Ferry process resident memory per job (bytes), ready / all', [perJob(afterReady.ferryMiB - before.ferryMiB, readyJobs), perJob(after.ferryMiB - before.ferryMiB, jobs)]);
    }
    record(`usage after filling (${label})`, after);

    let consumed = 0;
    let empty = 0;
    const consumeRefused: Record<number, number> = {};
    const start = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: LANES }, async () => {
        while (consumed < DRAIN) {
          const res = await pool.request({ method: 'GET', path: '/api/backlog/q?ttr=60&timeout=1', headers });
          // 404 only once the last jobs are leased by the other lanes; in a big queue it is a finding, so counted.
          if (res.statusCode === 404 && consumed + LANES >= READY) {
            empty++;
            await res.body.dump();
            break;
          }
          if (res.statusCode >= 500) {
            // A consume refused by an overloaded Temporal is retried, as a client would, and counted.
            consumeRefused[res.statusCode] = (consumeRefused[res.statusCode] ?? 0) + 1;
            await res.body.dump();
            await sleep(retryAfterMs(res));
            continue;
          }
          if (res.statusCode !== 200) throw new Error(`consume: ${res.statusCode} ${await res.body.text()}`);
          const { job_id: id } = (await res.body.json()) as { job_id: string };
          const acked = await pool.request({ method: 'DELETE', path: `/api/backlog/q/job/${id}`, headers });
          await acked.body.dump();
          consumed++;
        }
      }),
    );
    record(`consume + ack ${consumed} from the full queue, 8 lanes (jobs/s)`, Math.round(consumed / (since(start) / 1000)));
    if (empty > 0) record('lanes that found the queue empty at the end', empty);
    if (Object.keys(consumeRefused).length > 0) record('consumes refused and retried, by status', consumeRefused);
    console.log(`written ${writeReport('-backlog', SERVER, results)}`);
  } catch (err) {
    failed = true;
    // What was measured before the failure is kept, with the failure.
    console.log(`written ${writeReport('-backlog-partial', SERVER, { ...results, failedWith: String(err) })}`);
    throw err;
  } finally {
    const output = ferry.output.join('');
    const errors = output.split('\n').filter((line) => /"level":(50|60)/.test(line));
    if (failed || errors.length > 0) console.log(`Ferry's last errors:\n${errors.slice(-20).join('\n')}`);
    // Its last 200 output chunks (all of it at the warn level it runs with, unless something floods the log):
    // what the error lines do not say, e.g. whether the worker failed a workflow task.
    const logFile = join(tmpdir(), `ferry-bench-backlog-${process.pid}.log`);
    writeFileSync(logFile, output);
    console.log(`Ferry's output: ${logFile}`);
    await pool.close();
    await connection.close();
    await ferry.stop();
    await server.stop();
    if (KEPT_DIR === undefined) rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
