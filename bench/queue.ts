/**
 * `npm run bench`: latency of Ferry's queue paths against a real Temporal dev server and worker,
 * loopback only, bounded in count. Prints a table and writes bench/results/<date>.json.
 */
import { startFerry } from '../test/helpers/ferry';
import type { Summary } from './lib';
import { since, sleep, summarize, writeReport } from './lib';

const N = Number(process.env.FERRY_BENCH_N ?? 300);

async function main(): Promise<void> {
  const ferry = await startFerry();
  try {
    const token = await ferry.token('bench');
    const headers = { 'X-Token': token };
    const publish = async (queue: string, query = '') => {
      const res = await ferry.queue(`/api/bench/${queue}${query}`, { method: 'PUT', body: 'x', headers });
      if (res.status !== 201) throw new Error(`publish answered ${res.status}`);
      return ((await res.json()) as { job_id: string }).job_id;
    };
    const consume = async (queue: string, query = '') => {
      const res = await ferry.queue(`/api/bench/${queue}${query}`, { headers });
      return { status: res.status, body: (await res.json()) as { job_id?: string } };
    };
    const results: Record<string, Summary> = {};
    const measure = async (name: string, n: number, run: (i: number) => Promise<number>) => {
      for (let i = 0; i < Math.min(20, n); i++) await run(-1 - i); // warm-up
      const samples: number[] = [];
      for (let i = 0; i < n; i++) samples.push(await run(i));
      results[name] = summarize(samples);
      console.log(`${name.padEnd(44)} ${JSON.stringify(results[name])}`);
    };

    await measure('empty timeout=0 consume (ms)', N, async () => {
      await consume('empty'); // the queue exists after the first call
      const t = process.hrtime.bigint();
      const { status } = await consume('empty');
      if (status !== 404) throw new Error(`expected 404, got ${status}`);
      return since(t);
    });

    await measure('publish (ms)', N, async () => {
      const t = process.hrtime.bigint();
      await publish('lat');
      return since(t);
    });

    // What the facade adds: a bare StartWorkflowExecution from the same process, on a queue no worker polls.
    await measure('raw Temporal start, same process (ms)', N, async (i) => {
      const t = process.hrtime.bigint();
      await ferry.env.client.workflow.start('RawStart', { taskQueue: 'bench-raw', workflowId: `raw-${i}-${Date.now()}`, args: ['x'] });
      return since(t);
    });

    await measure('consume of a ready job (ms)', N, async () => {
      const t = process.hrtime.bigint();
      const { status } = await consume('lat', '?ttr=600');
      if (status !== 200) throw new Error(`expected 200, got ${status}`);
      return since(t);
    });

    // Long poll: a consumer waits; a job is published; time from the publish's answer to the job.
    await measure('long poll wake-up after publish (ms)', Math.min(N, 50), async (i) => {
      const queue = `wake${i}`;
      let woke = 0n;
      const waiting = consume(queue, '?timeout=30&ttr=600').then((r) => {
        woke = process.hrtime.bigint();
        return r;
      });
      await sleep(200);
      await publish(queue);
      const published = process.hrtime.bigint();
      if ((await waiting).status !== 200) throw new Error('long poll found no job');
      return Number(woke - published) / 1e6;
    });

    // Over a minute, past Temporal's 60 s poll limit: one sample.
    await measure('long poll wake-up after a 65 s wait (ms)', 1, async (i) => {
      if (i < 0) return 0;
      let woke = 0n;
      const waiting = consume('wake-long', '?timeout=120&ttr=600').then((r) => {
        woke = process.hrtime.bigint();
        return r;
      });
      await sleep(65_000);
      await publish('wake-long');
      const published = process.hrtime.bigint();
      if ((await waiting).status !== 200) throw new Error('long poll found no job');
      return Number(woke - published) / 1e6;
    });

    // Delay: a waiting consumer gets the job; lateness = arrival - (publish answer + delay).
    const delayLateness = async (queue: string) => {
      await publish(queue, '?delay=2');
      const due = process.hrtime.bigint() + 2_000_000_000n;
      const { status } = await consume(queue, '?timeout=10&ttr=600');
      if (status !== 200) throw new Error('delayed job never came');
      return Number(process.hrtime.bigint() - due) / 1e6;
    };
    // ttr: a job consumed with ttr=1 and not acked comes back; lateness = return - (consume + 1 s).
    const ttrLateness = async (queue: string) => {
      await publish(queue, '?tries=2');
      await consume(queue, '?ttr=1');
      const due = process.hrtime.bigint() + 1_000_000_000n;
      const { status } = await consume(queue, '?timeout=10&ttr=600');
      if (status !== 200) throw new Error('job did not return after ttr');
      return Number(process.hrtime.bigint() - due) / 1e6;
    };
    const TIMER_SAMPLES = Math.min(N, 20);
    await measure('delay=2 s lateness, idle (ms)', TIMER_SAMPLES, (i) => delayLateness(`delay${i}`));
    await measure('ttr=1 s expiry lateness, idle (ms)', TIMER_SAMPLES, (i) => ttrLateness(`ttr${i}`));

    // The same at half of peak load: peak = 32 clients cycling publish -> consume -> ack for 5 s.
    const cycle = async () => {
      const id = await publish('load');
      const { status, body } = await consume('load', '?ttr=30&timeout=3');
      if (status === 200) await ferry.queue(`/api/bench/load/job/${body.job_id ?? id}`, { method: 'DELETE', headers });
    };
    const LOAD_CLIENTS = 32;
    let stopAt = Date.now() + 5000;
    let cycles = 0;
    const loop = async (pauseMs: number) => {
      while (Date.now() < stopAt) {
        const t = Date.now();
        await cycle();
        cycles++;
        if (pauseMs) await sleep(Math.max(0, pauseMs - (Date.now() - t)));
      }
    };
    await Promise.all(Array.from({ length: LOAD_CLIENTS }, () => loop(0)));
    const peak = cycles / 5;
    results['peak lifecycle, 32 clients (jobs/s)'] = { n: cycles, p50: peak, p99: peak, max: peak };
    console.log(`peak lifecycle rate ${peak.toFixed(1)} jobs/s; timers again at half of it`);
    stopAt = Number.POSITIVE_INFINITY;
    cycles = 0;
    const loadStart = Date.now();
    const load = Promise.all(Array.from({ length: LOAD_CLIENTS }, () => loop((LOAD_CLIENTS / (peak / 2)) * 1000)));
    await measure('delay=2 s lateness, half peak load (ms)', TIMER_SAMPLES, (i) => delayLateness(`delayload${i}`));
    await measure('ttr=1 s expiry lateness, half peak load (ms)', TIMER_SAMPLES, (i) => ttrLateness(`ttrload${i}`));
    stopAt = 0;
    await load;
    const achieved = cycles / ((Date.now() - loadStart) / 1000);
    results['background load during those (jobs/s)'] = { n: cycles, p50: achieved, p99: achieved, max: achieved };
    console.log(`background load achieved ${achieved.toFixed(1)} jobs/s`);

    // size is exact once writes settle: publish 50, then read size until it says 50.
    await measure('size exact after 50 publishes (ms)', 5, async (i) => {
      const queue = `size${i + 100}`;
      await Promise.all(Array.from({ length: 50 }, () => publish(queue)));
      const t = process.hrtime.bigint();
      for (;;) {
        const res = await ferry.queue(`/api/bench/${queue}/size`);
        if (((await res.json()) as { size: number }).size === 50) return since(t);
      }
    });

    const file = writeReport('', 'temporal server start-dev (CLI v1.5.1, in-memory SQLite), one Ferry worker, API in the same process', results);
    console.log(`written ${file}`);
  } finally {
    await ferry.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
