import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

export interface Summary {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

export const summarize = (samples: number[]): Summary => {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { n: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1]! };
};

/** Milliseconds since a `process.hrtime.bigint()` reading. */
export const since = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Writes bench/results/<date><suffix>.json with the machine described; answers the file. */
export function writeReport(suffix: string, server: string, results: Record<string, unknown>): string {
  const report = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
    server,
    results,
  };
  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${report.date.slice(0, 19).replace(/:/g, '-')}${suffix}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}

const TICKS_PER_SECOND = 100;

/** CPU time in ms a set of processes used so far (user + system, from /proc/<pid>/stat). */
export function cpuMs(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // The process ended (a PostgreSQL backend): its time is lost to this reading.
    }
  }
  return (ticks / TICKS_PER_SECOND) * 1000;
}
