import pino from 'pino';
import type { RunningApi } from '../../src/api/server';
import { startApi } from '../../src/api/server';
import type { Config } from '../../src/config';
import { loadConfig } from '../../src/config';
import { FerryWorker } from '../../src/workers/worker';
import type { TemporalEnv } from './temporal';
import { startApiProcess } from './api-process';
import { CLUSTER_ADDRESS, createTemporalEnv, testTaskQueue } from './temporal';
import { startWorkerProcess } from './worker-process';
import { eventually } from './eventually';
import { WORKER_METRICS_PORT } from './runtime';

/** Queue-port routes that write configuration (endpoints and event types), up to their collection. */
const CONFIG_PATH = /^\/push\/[^/]+\/(endpoints|event-types)\b/;

export interface FerryUnderTest {
  env: TemporalEnv;
  worker: FerryWorker;
  api: RunningApi;
  config: Config;
  /** Fetches a path of the queue API. */
  queue(path: string, init?: RequestInit): Promise<Response>;
  /** Fetches a path of the admin API. */
  admin(path: string, init?: RequestInit): Promise<Response>;
  /** Creates a token for a namespace through the admin API. */
  token(namespace: string): Promise<string>;
  /**
   * Every worker's Prometheus text, one after the other: on the cluster a job's moments are counted
   * by whichever of the two workers ran that workflow task.
   */
  workerMetrics(): Promise<string>;
  stop(): Promise<void>;
}

/**
 * A real Temporal dev server, a real worker and both HTTP servers on loopback with random ports,
 * as `npm start` wires them. Under `npm run test:cluster` the Temporal is the shared PostgreSQL
 * cluster, and a second worker and a second API run in processes of their own, as
 * `npm run start:cluster` runs them: queue calls alternate between the two APIs.
 */
export async function startFerry(env: Partial<Record<string, string>> = {}): Promise<FerryUnderTest> {
  const temporal = await createTemporalEnv();
  const settings = {
    FERRY_TASK_QUEUE: testTaskQueue(`ferry-test-${process.pid}`),
    FERRY_TOKEN_REFRESH_MS: '500',
    FERRY_ENDPOINT_REFRESH_MS: '300',
    FERRY_PUSH_ALLOW_CIDRS: '127.0.0.1/32',
    ...env,
  };
  const config = loadConfig({ FERRY_API_PORT: '0', FERRY_ADMIN_PORT: '0', ...settings });
  const worker = await FerryWorker.create({
    connection: temporal.nativeConnection,
    client: temporal.client,
    namespace: temporal.namespace ?? 'default',
    taskQueue: config.FERRY_TASK_QUEUE,
    config,
  });
  const running = worker.run();
  const api = await startApi(config, temporal.client, pino({ level: 'silent' }));
  const others = CLUSTER_ADDRESS
    ? await Promise.all([
        startWorkerProcess(temporal.connection, config.FERRY_TASK_QUEUE, settings),
        startApiProcess(CLUSTER_ADDRESS, config.FERRY_TASK_QUEUE, settings),
      ])
    : undefined;
  // Configuration (tokens, endpoints, event types) is written through the first API; the second
  // follows it a moment later, as README's "Several API processes" says. A call the second serves
  // after a write first waits until the second lists that namespace's endpoints and event types as
  // the first does (a token it does not know yet it reads at once by itself).
  const written = new Map<string, RequestInit['headers']>();
  const sameOnBoth = async (collection: string, headers: RequestInit['headers']) => {
    const list = async (base: string) => (await fetch(`${base}${collection}`, { headers })).text();
    await eventually(async () => expect(await list(others![1].queueUrl)).toEqual(await list(api.queueUrl)), 20_000, 100);
  };
  let calls = 0;
  const queueBase = async (path: string, init?: RequestInit): Promise<string> => {
    if (!others) return api.queueUrl;
    const collection = CONFIG_PATH.exec(path)?.[0];
    if (collection && init?.method && init.method !== 'GET') {
      written.set(collection, init.headers);
      return api.queueUrl;
    }
    if (calls++ % 2 === 0) return api.queueUrl;
    for (const [changed, headers] of written) await sameOnBoth(changed, headers);
    written.clear();
    return others[1].queueUrl;
  };
  const ferry: FerryUnderTest = {
    env: temporal,
    worker,
    api,
    config,
    queue: async (path, init) => fetch(`${await queueBase(path, init)}${path}`, init),
    admin: (path, init) => fetch(`${api.adminUrl}${path}`, init),
    async token(namespace) {
      const res = await ferry.admin(`/token/${namespace}?description=test`, { method: 'POST' });
      return ((await res.json()) as { token: string }).token;
    },
    async workerMetrics() {
      const ports = [WORKER_METRICS_PORT, ...(others ? [others[0].metricsPort] : [])];
      const texts = await Promise.all(ports.map(async (port) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text()));
      return texts.join('\n');
    },
    async stop() {
      if (others) {
        await others[1].stop();
        others[0].child.kill('SIGTERM');
        await others[0].exited;
      }
      await api.close();
      worker.shutdown();
      await running;
      await temporal.teardown();
    },
  };
  return ferry;
}

/**
 * Runs Ferry for the whole test file: started before its tests (with `env` over the test
 * settings, then `onStarted`, e.g. to create tokens), stopped after them.
 */
export function useFerry(onStarted: (ferry: FerryUnderTest) => Promise<void> | void, env: Partial<Record<string, string>> = {}): void {
  let ferry: FerryUnderTest | undefined;
  beforeAll(async () => {
    ferry = await startFerry(env);
    await onStarted(ferry);
  }, 120_000);
  afterAll(async () => {
    await ferry?.stop();
  });
}
