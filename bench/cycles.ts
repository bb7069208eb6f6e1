/** What the lifecycle and scale-out benchmarks share: the client loop and its statistics. */
import { Pool } from 'undici';
import { since, summarize } from './lib';

/** Seconds each measurement counts, after a warm-up second. */
export const SECONDS = Number(process.env.FERRY_BENCH_SECONDS ?? 8);

/** One client's publish -> consume -> ack; answers whether a job was acked. */
export type Cycle = (client: number) => Promise<boolean>;

export interface Measurement {
  jobsPerSecond: number;
  /** Milliseconds for one whole cycle. */
  cycle: ReturnType<typeof summarize>;
}

/**
 * Runs `clients` loops of `cycle` for a warm-up second and then `SECONDS`; counts cycles that
 * finished inside the window.
 */
export async function measure(clients: number, cycle: Cycle): Promise<Measurement> {
  const start = Date.now() + 1000;
  const end = start + SECONDS * 1000;
  const durations: number[] = [];
  let acked = 0;
  await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      while (Date.now() < end) {
        const t = process.hrtime.bigint();
        const ok = await cycle(client);
        const now = Date.now();
        if (ok && now >= start && now < end) {
          acked++;
          durations.push(since(t));
        }
      }
    }),
  );
  return { jobsPerSecond: acked / SECONDS, cycle: summarize(durations.length ? durations : [0]) };
}

/** The lmstfy HTTP API, which Ferry and lmstfy both serve: the same client code for both. */
export function lmstfyCycle(base: string, admin: string, clients: number, body: string | Buffer = 'x') {
  const pool = new Pool(base, { connections: clients * 2 });
  let token = '';
  return {
    async prepare(): Promise<void> {
      const res = await fetch(`${admin}/token/bench?description=bench`, { method: 'POST' });
      if (res.status !== 201) throw new Error(`token: ${res.status} ${await res.text()}`);
      token = ((await res.json()) as { token: string }).token;
    },
    cycle:
      (queue: string): Cycle =>
      async () => {
        const path = `/api/bench/${queue}`;
        const published = await pool.request({ method: 'PUT', path: `${path}?ttl=0&tries=1`, body, headers: { 'x-token': token } });
        if (published.statusCode !== 201) throw new Error(`publish: ${published.statusCode} ${await published.body.text()}`);
        await published.body.dump();
        const consumed = await pool.request({ method: 'GET', path: `${path}?ttr=30&timeout=3`, headers: { 'x-token': token } });
        if (consumed.statusCode === 404) {
          await consumed.body.dump();
          return false;
        }
        if (consumed.statusCode !== 200) throw new Error(`consume: ${consumed.statusCode} ${await consumed.body.text()}`);
        const { job_id: id } = (await consumed.body.json()) as { job_id: string };
        const acked = await pool.request({ method: 'DELETE', path: `${path}/job/${id}`, headers: { 'x-token': token } });
        await acked.body.dump();
        if (acked.statusCode !== 204) throw new Error(`ack: ${acked.statusCode}`);
        return true;
      },
    close: () => pool.close(),
  };
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
export const spread = (xs: number[]) => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`;

