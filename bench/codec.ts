/**
 * `npm run bench:codec`: what the payload codec costs, in one run. Two Ferry processes on one dev
 * server, each on its own task queue: one as shipped (the codec on every payload), one with
 * Temporal's default converter (payloads in clear, `bench/ferry-without-codec.ts`). Only one is
 * under load at a time, in alternating order per round:
 * - the lifecycle (publish -> consume -> ack over the lmstfy API, 32 clients), with a 1-byte body
 *   and with a 60 KiB random body;
 * - push at fan-out 1 (events published by 8 clients, each delivered to a local receiver).
 * Every cell gives its rate and the CPU milliseconds per job (or delivery) of that Ferry process
 * and of Temporal, read from /proc over the cell (a lifecycle cell's warm-up second included, its
 * jobs not, as bench:servers counts); ratios are taken within each round. Each Ferry has a Temporal
 * namespace of its own, since both would otherwise share the registries' workflows. The codec
 * also counts its own time (`ferry_codec_seconds_total` on the admin API's /metrics): the cost
 * itself, which the noise between cells does not blur.
 *
 * Bounded: FERRY_BENCH_SECONDS (8) per lifecycle cell, FERRY_BENCH_ROUNDS (4), FERRY_BENCH_EVENTS
 * (300) per push cell. Loopback only; every process stops at the end.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureNamespace } from '../src/cluster/temporal-cluster';
import { startDevServer } from '../src/local-temporal/dev-server';
import { freePort } from '../test/helpers/ports';
import { Receiver } from '../test/helpers/receiver';
import { lmstfyCycle, measure, median, SECONDS } from './cycles';
import type { FerryProcess } from './ferry-process';
import { startFerryProcess } from './ferry-process';
import { cpuMs, since, writeReport } from './lib';

const ROUNDS = Number(process.env.FERRY_BENCH_ROUNDS ?? 4);
const EVENTS = Number(process.env.FERRY_BENCH_EVENTS ?? 300);
const CLIENTS = 32;
const PUBLISHERS = 8;
// The largest random body under the job size limit (64 KiB − 1 by default).
const BODIES = { '1 B': 'x', '60 KiB random': randomBytes(60 * 1024) };
const VARIANTS = ['codec', 'plain'] as const;

type Variant = (typeof VARIANTS)[number];
type Workload = keyof typeof BODIES | 'push, fan-out 1';
interface Cell {
  perSecond: number;
  ferryCpuMs: number;
  temporalCpuMs: number;
  /** Per job or delivery, from Ferry's own count (`ferry_codec_seconds_total`); 0 without the codec. */
  codecMs: number;
  codecPayloads: number;
}

/** The codec's work so far in a Ferry process, from its /metrics: milliseconds and payloads. */
async function codecWork(ferry: FerryProcess): Promise<{ ms: number; payloads: number }> {
  const text = await (await fetch(`${ferry.admin}/metrics`)).text();
  const sum = (name: string) => [...text.matchAll(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'gm'))].reduce((n, m) => n + Number(m[1]), 0);
  return { ms: sum('ferry_codec_seconds_total') * 1000, payloads: sum('ferry_codec_payloads_total') };
}
type Results = Record<Workload, Record<Variant, Cell[]>>;

/** Runs `work` (answering how many jobs or deliveries it finished) and charges each process's CPU to them. */
async function cell(ferry: FerryProcess, temporalPid: number, work: () => Promise<{ count: number; seconds: number }>): Promise<Cell> {
  const [ferryBefore, temporalBefore, codecBefore] = [cpuMs([ferry.pid]), cpuMs([temporalPid]), await codecWork(ferry)];
  const { count, seconds } = await work();
  const [ferryAfter, temporalAfter, codecAfter] = [cpuMs([ferry.pid]), cpuMs([temporalPid]), await codecWork(ferry)];
  const n = Math.max(1, count);
  return {
    perSecond: count / seconds,
    ferryCpuMs: (ferryAfter - ferryBefore) / n,
    temporalCpuMs: (temporalAfter - temporalBefore) / n,
    codecMs: (codecAfter.ms - codecBefore.ms) / n,
    codecPayloads: (codecAfter.payloads - codecBefore.payloads) / n,
  };
}

async function pushSetup(ferry: FerryProcess, receiver: Receiver, variant: Variant) {
  const token = ((await (await fetch(`${ferry.admin}/token/bench?description=bench`, { method: 'POST' })).json()) as { token: string }).token;
  const call = async (method: string, path: string, body: unknown) => {
    const res = await fetch(`${ferry.base}/push/bench${path}`, { method, headers: { 'x-token': token, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (res.status >= 300) throw new Error(`${method} ${path} answered ${res.status}: ${await res.text()}`);
  };
  const path = `/${variant}`;
  await call('POST', '/endpoints', { id: variant, url: receiver.script(path, 200), eventTypes: ['order.#'] });
  let seq = 0;
  return async () => {
    const target = receiver.to(path).length + EVENTS;
    const start = process.hrtime.bigint();
    let next = 0;
    await Promise.all(
      Array.from({ length: PUBLISHERS }, async () => {
        for (let i = next++; i < EVENTS; i = next++) await call('POST', '/events', { id: `${variant}-${++seq}`, type: 'order.created', data: { order: seq, lines: [{ sku: 'SKU-1', quantity: 2 }] } });
      }),
    );
    while (receiver.to(path).length < target) await new Promise((r) => setTimeout(r, 5));
    return { count: EVENTS, seconds: since(start) / 1000 };
  };
}

async function main(): Promise<void> {
  const server = await startDevServer({
    dataDir: mkdtempSync(join(tmpdir(), 'ferry-bench-codec-')),
    host: '127.0.0.1',
    port: await freePort(),
    uiPort: await freePort(),
    namespace: 'default',
  });
  const receiver = await Receiver.start();
  const ferries: Partial<Record<Variant, FerryProcess>> = {};
  try {
    const env = (variant: Variant) => ({
      TEMPORAL_NAMESPACE: `bench-${variant}`,
      FERRY_PUSH_ALLOW_CIDRS: '127.0.0.1/32',
      FERRY_DATA_DIR: mkdtempSync(join(tmpdir(), 'ferry-bench-codec-keys-')),
    });
    for (const variant of VARIANTS) await ensureNamespace(server.address, `bench-${variant}`);
    ferries.codec = await startFerryProcess(server.address, 'bench', { env: env('codec') });
    ferries.plain = await startFerryProcess(server.address, 'bench', { env: env('plain'), entry: join(__dirname, 'ferry-without-codec.ts') });
    const pushes = { codec: await pushSetup(ferries.codec, receiver, 'codec'), plain: await pushSetup(ferries.plain, receiver, 'plain') };
    const results = Object.fromEntries([...Object.keys(BODIES), 'push, fan-out 1'].map((w) => [w, { codec: [], plain: [] }])) as unknown as Results;
    let seq = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      const order = round % 2 ? VARIANTS : [...VARIANTS].reverse();
      for (const [workload, body] of Object.entries(BODIES) as [Workload, string | Buffer][]) {
        for (const variant of order) {
          const ferry = ferries[variant]!;
          const lifecycle = lmstfyCycle(ferry.base, ferry.admin, CLIENTS, body);
          await lifecycle.prepare();
          const result = await cell(ferry, server.pid, async () => {
            const m = await measure(CLIENTS, lifecycle.cycle(`q${++seq}`));
            return { count: m.jobsPerSecond * SECONDS, seconds: SECONDS };
          });
          await lifecycle.close();
          results[workload][variant].push(result);
          log(round, workload, variant, result);
        }
      }
      for (const variant of order) {
        const result = await cell(ferries[variant]!, server.pid, pushes[variant]);
        results['push, fan-out 1'][variant].push(result);
        log(round, 'push, fan-out 1', variant, result);
      }
    }
    const summary = Object.fromEntries(
      Object.entries(results).map(([workload, { codec, plain }]) => [
        workload,
        {
          rateRatio: median(codec.map((c, i) => c.perSecond / plain[i]!.perSecond)),
          ferryCpuMsDelta: median(codec.map((c, i) => c.ferryCpuMs - plain[i]!.ferryCpuMs)),
          temporalCpuMsDelta: median(codec.map((c, i) => c.temporalCpuMs - plain[i]!.temporalCpuMs)),
          codecMs: median(codec.map((c) => c.codecMs)),
          codecPayloads: median(codec.map((c) => c.codecPayloads)),
          codec: { perSecond: median(codec.map((c) => c.perSecond)), ferryCpuMs: median(codec.map((c) => c.ferryCpuMs)) },
          plain: { perSecond: median(plain.map((c) => c.perSecond)), ferryCpuMs: median(plain.map((c) => c.ferryCpuMs)) },
        },
      ]),
    );
    console.table(
      Object.fromEntries(
        Object.entries(summary).map(([w, s]) => [
          w,
          {
            'codec ÷ plain, rate': s.rateRatio.toFixed(3),
            'Ferry CPU-ms, codec − plain': s.ferryCpuMsDelta.toFixed(2),
            'Temporal CPU-ms, codec − plain': s.temporalCpuMsDelta.toFixed(2),
            'codec ms (its own count)': s.codecMs.toFixed(3),
            'payloads through it': s.codecPayloads.toFixed(1),
          },
        ]),
      ),
    );
    console.log(`written ${writeReport('-codec', 'temporal server start-dev (CLI v1.5.1, SQLite WAL), two Ferry processes (src/main.ts with the codec, bench/ferry-without-codec.ts without), one under load at a time', { results, summary })}`);
  } finally {
    for (const ferry of Object.values(ferries)) await ferry.stop();
    await receiver.stop();
    await server.stop();
  }
}

function log(round: number, workload: string, variant: Variant, c: Cell): void {
  console.log(
    `round ${round} ${workload.padEnd(16)} ${variant.padEnd(6)} ${c.perSecond.toFixed(1).padStart(7)}/s  Ferry ${c.ferryCpuMs.toFixed(2)} CPU-ms  Temporal ${c.temporalCpuMs.toFixed(2)} CPU-ms  codec ${c.codecMs.toFixed(3)} ms over ${c.codecPayloads.toFixed(1)} payloads`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
