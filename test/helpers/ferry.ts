import pino from 'pino';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { RunningApi } from '../../src/api/server';
import { startApi } from '../../src/api/server';
import type { Config } from '../../src/config';
import { loadConfig } from '../../src/config';
import { FerryWorker } from '../../src/workers/worker';
import { createDevServerEnv } from './temporal';

export interface FerryUnderTest {
  env: TestWorkflowEnvironment;
  worker: FerryWorker;
  api: RunningApi;
  config: Config;
  /** Fetches a path of the queue API. */
  queue(path: string, init?: RequestInit): Promise<Response>;
  /** Fetches a path of the admin API. */
  admin(path: string, init?: RequestInit): Promise<Response>;
  /** Creates a token for a namespace through the admin API. */
  token(namespace: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * A real Temporal dev server, a real worker and both HTTP servers on loopback with random ports,
 * as `npm start` wires them.
 */
export async function startFerry(env: Partial<Record<string, string>> = {}): Promise<FerryUnderTest> {
  const temporal = await createDevServerEnv();
  const config = loadConfig({
    FERRY_API_PORT: '0',
    FERRY_ADMIN_PORT: '0',
    FERRY_TASK_QUEUE: `ferry-test-${process.pid}`,
    FERRY_TOKEN_REFRESH_MS: '500',
    FERRY_ENDPOINT_REFRESH_MS: '300',
    FERRY_PUSH_ALLOW_CIDRS: '127.0.0.1/32',
    ...env,
  });
  const worker = await FerryWorker.create({
    connection: temporal.nativeConnection,
    client: temporal.client,
    namespace: temporal.namespace ?? 'default',
    taskQueue: config.FERRY_TASK_QUEUE,
    config,
  });
  const running = worker.run();
  const api = await startApi(config, temporal.client, pino({ level: 'silent' }));
  const ferry: FerryUnderTest = {
    env: temporal,
    worker,
    api,
    config,
    queue: (path, init) => fetch(`${api.queueUrl}${path}`, init),
    admin: (path, init) => fetch(`${api.adminUrl}${path}`, init),
    async token(namespace) {
      const res = await ferry.admin(`/token/${namespace}?description=test`, { method: 'POST' });
      return ((await res.json()) as { token: string }).token;
    },
    async stop() {
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
