import { monitorEventLoopDelay } from 'node:perf_hooks';
import pino from 'pino';
import { endpointQuotas, healthPolicy } from '../../src/config';
import { EndpointDirectory } from '../../src/temporal/endpoint-directory';
import type { FerryUnderTest } from '../helpers/ferry';
import { useFerry } from '../helpers/ferry';
import { eventually } from '../helpers/eventually';
import { Receiver } from '../helpers/receiver';

/**
 * 10,000 endpoints across 100 namespaces, every namespace at its endpoint quota (100 here): each
 * namespace's registry is its own workflow, so a full one refuses only its own writes, and every
 * namespace still publishes and delivers. A process that starts afterwards loads all of them.
 */
const NAMESPACES = 100;
const PER_NAMESPACE = 100;
const CONCURRENCY = 16;

let ferry: FerryUnderTest;
let receiver: Receiver;
const tokens = new Map<string, string>();
const namespaceOf = (i: number) => `reg${String(i).padStart(3, '0')}`;

useFerry(
  async (started) => {
    ferry = started;
    receiver = await Receiver.start();
    for (let i = 0; i < NAMESPACES; i++) tokens.set(namespaceOf(i), await started.token(namespaceOf(i)));
  },
  // Every write moves a namespace's version, and each process re-reads the namespaces that moved once per refresh.
  { FERRY_PUSH_MAX_ENDPOINTS: String(PER_NAMESPACE), FERRY_ENDPOINT_REFRESH_MS: '2000' },
);
afterAll(async () => {
  await receiver?.stop();
});

const call = (namespace: string, method: string, path: string, body?: unknown) =>
  ferry.queue(`/push/${namespace}${path}`, {
    method,
    headers: { 'x-token': tokens.get(namespace)!, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

/** Runs `work` over `items`, `CONCURRENCY` at a time. */
async function inParallel<T>(items: T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

const lag = monitorEventLoopDelay({ resolution: 20 });

test(`${NAMESPACES * PER_NAMESPACE} endpoints across ${NAMESPACES} namespaces, each at its quota, all deliver`, async () => {
  lag.enable();
  const started = Date.now();
  const work = Array.from({ length: NAMESPACES * PER_NAMESPACE }, (_, n) => ({ namespace: namespaceOf(n % NAMESPACES), id: `ep${Math.floor(n / NAMESPACES)}` }));
  const failures: string[] = [];
  let retried = 0;
  await inParallel(work, async ({ namespace, id }) => {
    const create = () => call(namespace, 'POST', '/endpoints', { id, url: receiver.script(`/${namespace}/${id}`, 200), eventTypes: [`${id}.#`] });
    let res = await create();
    // A 503 says "retry later" (here: the registry's workflow task outran its 10-s timeout on this
    // busy machine, and the server aborted the update), and clients do. The retry of a create whose
    // first try was applied after all finds it there: 409.
    for (let attempt = 1; res.status === 503 && attempt <= 5; attempt++) {
      retried++;
      await new Promise((r) => setTimeout(r, Number(res.headers.get('retry-after') ?? 1) * 1000));
      res = await create();
      if (res.status === 409) res = new Response(null, { status: 201 });
    }
    if (res.status !== 201) failures.push(`${namespace}/${id}: ${res.status} ${await res.text()}`);
  });
  expect(failures).toEqual([]);
  const createdS = (Date.now() - started) / 1000;
  lag.disable();
  console.log(
    `${work.length} endpoints created in ${createdS.toFixed(1)} s (${(work.length / createdS).toFixed(0)}/s, ${retried} creates answered 503 and retried); ` +
      `event loop delay p99 ${(lag.percentile(99) / 1e6).toFixed(0)} ms, max ${(lag.max / 1e6).toFixed(0)} ms`,
  );

  // Every namespace is full: one more is refused there, and only there.
  for (const namespace of [namespaceOf(0), namespaceOf(NAMESPACES - 1)]) {
    const over = await call(namespace, 'POST', '/endpoints', { id: 'one-more', url: `${receiver.url}/x` });
    expect([over.status, await over.json()]).toEqual([400, { error: `a namespace has at most ${PER_NAMESPACE} endpoints` }]);
  }

  // One event per namespace, to the endpoint its type matches.
  await inParallel([...tokens.keys()], async (namespace) => {
    const res = await call(namespace, 'POST', '/events', { id: `evt-${namespace}`, type: 'ep42.happened' });
    expect(res.status).toBe(202);
  });
  await eventually(
    async () => {
      const delivered = [...tokens.keys()].filter((namespace) => receiver.to(`/${namespace}/ep42`).length === 1);
      expect(delivered).toHaveLength(NAMESPACES);
    },
    60_000,
    500,
  );

  // A process started now reads every namespace's registry once through the catalog.
  const loadStarted = Date.now();
  const directory = new EndpointDirectory(ferry.env.client, {
    taskQueue: ferry.config.FERRY_TASK_QUEUE,
    policy: healthPolicy(ferry.config),
    quotas: endpointQuotas(ferry.config),
    refreshMs: 1000,
    onRefreshError: (err) => pino().error(err),
  });
  try {
    await directory.start();
    await eventually(async () => expect(directory.all()).toHaveLength(NAMESPACES * PER_NAMESPACE), 30_000, 200);
    console.log(`a new process loaded ${directory.all().length} endpoints in ${Date.now() - loadStarted} ms`);
    expect(directory.list(namespaceOf(7)).map((e) => e.id).sort()).toEqual(Array.from({ length: PER_NAMESPACE }, (_, i) => `ep${i}`).sort());
  } finally {
    await directory.stop();
  }
}, 900_000);
