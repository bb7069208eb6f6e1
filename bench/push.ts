/**
 * `npm run bench:push`: the push side against a real Temporal dev server and worker, loopback only,
 * bounded in count: endpoint reads idle and under delivery load, publish latency, publish ->
 * delivered latency, deliveries/s at fan-out 1 and 5, and with 10% of requests failing; and fan-out 1
 * against Temporal's ceiling (a workflow with one activity, its worker in this process as Ferry's is),
 * interleaved in the same run. Writes bench/results/<date>-push.json.
 */
import { Worker } from '@temporalio/worker';
import { startFerry } from '../test/helpers/ferry';
import { Receiver } from '../test/helpers/receiver';
import { ceilingActivities } from './ceiling/activities';
import { median } from './cycles';
import { since, summarize, writeReport } from './lib';

const EVENTS = Number(process.env.FERRY_BENCH_EVENTS ?? 200);
const ENDPOINTS = 200;
const CONCURRENCY = 8;
const RATIO_ROUNDS = 3;

async function main(): Promise<void> {
  const ferry = await startFerry();
  const receiver = await Receiver.start();
  const ceilingWorker = await Worker.create({
    connection: ferry.env.nativeConnection,
    namespace: ferry.env.namespace ?? 'default',
    taskQueue: 'ceiling',
    workflowsPath: require.resolve('./ceiling/workflows'),
    activities: ceilingActivities,
  });
  const ceilingRunning = ceilingWorker.run();
  try {
    const token = await ferry.token('bench');
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await ferry.queue(`/push/bench${path}`, {
        method,
        headers: { 'x-token': token, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (res.status >= 300) throw new Error(`${method} ${path} answered ${res.status}: ${await res.text()}`);
      return res.json();
    };
    const results: Record<string, unknown> = {};
    const record = (name: string, value: unknown) => {
      results[name] = value;
      console.log(`${name.padEnd(52)} ${JSON.stringify(value)}`);
    };
    /** Runs `run` for indexes 0..n-1 on `concurrency` lanes; answers each call's duration in ms. */
    const timed = async (n: number, concurrency: number, run: (i: number) => Promise<unknown>) => {
      const samples: number[] = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          for (let i = next++; i < n; i = next++) {
            const t = process.hrtime.bigint();
            await run(i);
            samples.push(since(t));
          }
        }),
      );
      return samples;
    };

    // The registry: ENDPOINTS endpoints (on patterns that no event below matches), then the ones used.
    for (let i = 0; i < ENDPOINTS; i++) await call('POST', '/endpoints', { id: `idle${i}`, url: `${receiver.url}/idle`, eventTypes: [`idle${i}.#`] });
    for (let i = 0; i < 5; i++) await call('POST', '/endpoints', { id: `fast${i}`, url: receiver.script(`/fast${i}`, 200), eventTypes: [i === 0 ? 'one.#' : 'five.#'] });
    await call('PATCH', '/endpoints/fast0', { eventTypes: ['one.#', 'five.#'] });

    const readEndpoint = (i: number) => call('GET', `/endpoints/idle${i % ENDPOINTS}`);
    record('endpoint read, idle, 1 client (ms)', summarize(await timed(500, 1, readEndpoint)));
    record(`endpoint list of ${ENDPOINTS + 5}, idle (ms)`, summarize(await timed(100, 1, () => call('GET', '/endpoints'))));

    // Deliveries at fan-out 1 while readers hammer the registry.
    /** When each publish was sent, on the clock the receiver stamps arrivals with. */
    const published = new Map<string, number>();
    const publish = async (type: string, i: number) => {
      const id = `${type}-${i}`;
      published.set(id, Date.now());
      await call('POST', '/events', { id, type, data: { i } });
    };
    const deliveredAll = async (paths: string[], count: number) => {
      while (paths.reduce((n, p) => n + receiver.to(p).length, 0) < count) await new Promise((r) => setTimeout(r, 5));
    };
    const start = process.hrtime.bigint();
    let loadDone = false;
    const readsUnderLoad: number[] = [];
    const readers = Array.from({ length: 4 }, async (_, lane) => {
      for (let i = lane; !loadDone; i += 4) {
        const t = process.hrtime.bigint();
        await readEndpoint(i);
        readsUnderLoad.push(since(t));
      }
    });
    const publishLatency = await timed(EVENTS, CONCURRENCY, (i) => publish('one.happened', i));
    await deliveredAll(['/fast0'], EVENTS);
    const seconds = since(start) / 1000;
    loadDone = true;
    await Promise.all(readers);
    record('publish, 8 clients (ms)', summarize(publishLatency));
    record('deliveries/s, fan-out 1, 8 publishing clients', Math.round(EVENTS / seconds));
    record('endpoint read under that load, 4 clients (ms)', summarize(readsUnderLoad));
    const arrival = new Map(receiver.to('/fast0').map((h) => [(JSON.parse(h.body) as { id: string }).id, h.at]));
    const toDelivery = [...published].filter(([id]) => arrival.has(id)).map(([id, sent]) => arrival.get(id)! - sent);
    record('publish -> delivered (ms)', summarize(toDelivery));

    const fanStart = process.hrtime.bigint();
    const fanEvents = Math.max(20, Math.floor(EVENTS / 5));
    await timed(fanEvents, CONCURRENCY, (i) => publish('five.happened', i));
    await deliveredAll(['/fast0', '/fast1', '/fast2', '/fast3', '/fast4'], EVENTS + fanEvents * 5);
    record('deliveries/s, fan-out 5', Math.round((fanEvents * 5) / (since(fanStart) / 1000)));

    // 10% of requests fail (every tenth answers 503); the endpoint retries after 1 s.
    const flakyReplies = Array.from({ length: EVENTS * 2 }, (_, i) => (i % 10 === 9 ? 503 : 200));
    await call('POST', '/endpoints', { id: 'flaky', url: receiver.script('/flaky', ...flakyReplies, 200), eventTypes: ['flaky.#'], retrySchedule: [1, 1, 1] });
    published.clear();
    const flakyStart = process.hrtime.bigint();
    await timed(EVENTS, CONCURRENCY, (i) => publish('flaky.happened', i));
    const succeeded = () => receiver.to('/flaky').filter((h) => h.status === 200);
    while (new Set(succeeded().map((h) => h.body)).size < EVENTS) await new Promise((r) => setTimeout(r, 5));
    const flakySeconds = since(flakyStart) / 1000;
    const requests = receiver.to('/flaky');
    record('10% failing: events delivered/s', Math.round(EVENTS / flakySeconds));
    record('10% failing: requests per event', Number((requests.length / EVENTS).toFixed(3)));
    record('10% failing: events delivered (of published)', new Set(succeeded().map((h) => h.body)).size / EVENTS);
    const firstSuccess = new Map<string, number>();
    for (const h of succeeded()) {
      const id = (JSON.parse(h.body) as { id: string }).id;
      if (!firstSuccess.has(id)) firstSuccess.set(id, h.at);
    }
    const retried = new Set(requests.filter((h) => h.status === 503).map((h) => (JSON.parse(h.body) as { id: string }).id));
    const latency = (ids: string[]) => summarize(ids.map((id) => firstSuccess.get(id)! - published.get(id)!));
    record('10% failing: publish -> delivered, first try (ms)', latency([...firstSuccess.keys()].filter((id) => !retried.has(id))));
    record('10% failing: publish -> delivered, retried (ms)', latency([...retried]));

    // Fan-out 1 against the ceiling, interleaved: EVENTS deliveries, then EVENTS ceiling workflows
    // started by as many clients and awaited, per round; the ratio is taken within each round.
    await call('POST', '/endpoints', { id: 'ratio', url: receiver.script('/ratio', 200), eventTypes: ['ratio.#'] });
    // The ceiling's worker bundles its workflows on first use: warm it up outside the rounds.
    await Promise.all(Array.from({ length: 10 }, (_, i) => ferry.env.client.workflow.execute('CeilingWorkflow', { taskQueue: 'ceiling', workflowId: `ceiling-warm-${i}` })));
    const rounds = { ferry: [] as number[], ceiling: [] as number[], ratio: [] as number[] };
    for (let round = 0; round < RATIO_ROUNDS; round++) {
      const ferryStart = process.hrtime.bigint();
      await timed(EVENTS, CONCURRENCY, (i) => publish('ratio.happened', round * EVENTS + i));
      await deliveredAll(['/ratio'], (round + 1) * EVENTS);
      const ferryRate = EVENTS / (since(ferryStart) / 1000);
      const ceilingStart = process.hrtime.bigint();
      const runs: Array<Promise<unknown>> = [];
      await timed(EVENTS, CONCURRENCY, async (i) => {
        const handle = await ferry.env.client.workflow.start('CeilingWorkflow', { taskQueue: 'ceiling', workflowId: `ceiling-${round}-${i}` });
        runs.push(handle.result());
      });
      await Promise.all(runs);
      const ceilingRate = EVENTS / (since(ceilingStart) / 1000);
      rounds.ferry.push(Math.round(ferryRate));
      rounds.ceiling.push(Math.round(ceilingRate));
      rounds.ratio.push(Number((ferryRate / ceilingRate).toFixed(2)));
    }
    record(`fan-out 1 deliveries/s vs ceiling workflows/s, ${RATIO_ROUNDS} interleaved rounds`, { ...rounds, medianRatio: median(rounds.ratio) });

    console.log(`written ${writeReport('-push', 'temporal server start-dev (CLI v1.5.1, in-memory SQLite), one Ferry worker, API in the same process, receiver on loopback', results)}`);
  } finally {
    ceilingWorker.shutdown();
    await ceilingRunning;
    await receiver.stop();
    await ferry.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
