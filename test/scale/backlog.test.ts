import type { FerryUnderTest } from '../helpers/ferry';
import { useFerry } from '../helpers/ferry';
import { eventually } from '../helpers/eventually';

/**
 * A queue with a large ready backlog (100k by default; FERRY_SCALE_JOBS changes it) still
 * publishes, consumes in order, peeks and sizes exactly, while its QueueWorkflow keeps most of the
 * backlog out of its state. Built with bulk publish; timings are printed, not asserted.
 */
const TOTAL = Number(process.env.FERRY_SCALE_JOBS ?? 100_000);
const BULK = 64;
const LANES = 8;
const PUBLISH_PHASE_MS = 40 * 60_000;
const CHECK_IN_ORDER = Math.min(5000, Math.floor(TOTAL / 2));
const ns = 'scale';
const queue = 'backlog';

let ferry: FerryUnderTest;
let token: string;

useFerry(async (started) => {
  ferry = started;
  token = await started.token(ns);
});

const headers = () => ({ 'X-Token': token });
const size = async () => {
  const res = await ferry.queue(`/api/${ns}/${queue}/size`);
  const body = (await res.json()) as { size: number };
  if (res.status !== 200) throw new Error(`size answered ${res.status} ${JSON.stringify(body)}`);
  return body.size;
};

test(`a queue with ${TOTAL} ready jobs publishes, consumes in order, peeks and sizes correctly`, async () => {
  let next = 0;
  let retried503 = 0;
  /**
   * As a client should: a 503 (publish not confirmed in time, or refused while Temporal is behind)
   * is retried with the same key, after Retry-After, until `until`. Answers the 201.
   */
  const publishRetrying = async (path: string, body: string, key: string, until: number): Promise<Response> => {
    for (;;) {
      const res = await ferry.queue(path, { method: 'PUT', body, headers: { ...headers(), 'Idempotency-Key': key } });
      if (res.status === 503 && Date.now() < until) {
        retried503++;
        await new Promise((r) => setTimeout(r, Number(res.headers.get('retry-after') ?? 1) * 1000));
        continue;
      }
      if (res.status !== 201) throw new Error(`publish answered ${res.status} ${await res.text()}`);
      return res;
    }
  };
  /** Where each job came from: its bulk call, its place in it, and when that call was in flight. */
  const published = new Map<string, { batch: number; index: number; window: { from: number; to: number } }>();
  const started = Date.now();
  await Promise.all(
    Array.from({ length: LANES }, async () => {
      while (next * BULK < TOTAL) {
        const batch = next++;
        const count = Math.min(BULK, TOTAL - batch * BULK);
        const body = JSON.stringify(Array.from({ length: count }, (_, i) => batch * BULK + i));
        const from = Date.now();
        const res = await publishRetrying(`/api/${ns}/${queue}/bulk?ttl=0`, body, `scale-${batch}`, started + PUBLISH_PHASE_MS);
        const jobIds = (await res.json()) as { job_ids: string[] };
        const window = { from, to: Date.now() };
        jobIds.job_ids.forEach((id, index) => published.set(id, { batch, index, window }));
      }
    }),
  );
  const publishSeconds = (Date.now() - started) / 1000;
  console.log(`published ${TOTAL} jobs in ${publishSeconds.toFixed(1)} s (${(TOTAL / publishSeconds).toFixed(0)} jobs/s); ${retried503} bulk calls answered 503 and were retried`);

  await eventually(async () => expect(await size()).toBe(TOTAL), 10_000);
  const stats = await ferry.api.services.jobs.stats(ns, queue, 0);
  console.log(`index: ${stats.size} ready, ${stats.spilled} of them spilled to visibility`);

  // Wait until entries settle and spill; state then stays bounded.
  await eventually(async () => expect((await ferry.api.services.jobs.stats(ns, queue, 0)).spilled).toBeGreaterThan(TOTAL - 8000), 60_000, 500);

  const peekStarted = Date.now();
  const head = (await (await ferry.queue(`/api/${ns}/${queue}/peek`, { headers: headers() })).json()) as { job_id: string };
  const peekMs = Date.now() - peekStarted;
  const sizeStarted = Date.now();
  expect(await size()).toBe(TOTAL);
  const sizeMs = Date.now() - sizeStarted;

  // Consume across several spilled ranges; every job exactly once, each call's jobs in order.
  const drainStarted = Date.now();
  const seen: string[] = [];
  while (seen.length < CHECK_IN_ORDER) {
    const res = await ferry.queue(`/api/${ns}/${queue}?count=100&ttr=600`, { headers: headers() });
    expect(res.status).toBe(200);
    seen.push(...((await res.json()) as { job_id: string }[]).map((j) => j.job_id));
  }
  const drainSeconds = (Date.now() - drainStarted) / 1000;
  console.log(
    `peek ${peekMs} ms, size ${sizeMs} ms; consumed ${seen.length} in ${drainSeconds.toFixed(1)} s (${(seen.length / drainSeconds).toFixed(0)} jobs/s)`,
  );
  expect(seen[0]).toBe(head.job_id);
  expect(new Set(seen).size).toBe(seen.length);
  // FIFO: within one bulk call, body order; across calls, a job never comes before one whose call
  // was answered before its own call was sent. (Ids carry no time: they derive from the keys.)
  const outOfOrder = seen.slice(1).filter((id, i) => {
    const [a, b] = [published.get(seen[i]!)!, published.get(id)!];
    return a.batch === b.batch ? a.index >= b.index : a.window.from > b.window.to;
  });
  expect(outOfOrder).toEqual([]);

  await publishRetrying(`/api/${ns}/${queue}`, 'one more', 'scale-one-more', Date.now() + 5 * 60_000);
  await eventually(async () => expect(await size()).toBe(TOTAL - seen.length + 1));
}, 60 * 60_000);
