import { Client } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Config } from '../../src/config';
import { endpointQuotas, healthPolicy, loadConfig } from '../../src/config';
import { EndpointDirectory } from '../../src/temporal/endpoint-directory';
import { PushService } from '../../src/temporal/push-service';
import { FerryWorker } from '../../src/workers/worker';
import { testDataConverter } from './codec';
import { eventually } from './eventually';
import { Receiver } from './receiver';
import { createTimeSkippingEnv } from './temporal';

/** What a push workflow suite in skipped time works with; filled in by its `beforeAll`. */
export interface PushTestBed {
  config: Config;
  taskQueue: string;
  env: TestWorkflowEnvironment;
  directory: EndpointDirectory;
  pushes: PushService;
  receiver: Receiver;
  /** Reads histories and queries workflows as a client with the test codec. */
  plain: Client;
}

/**
 * A time-skipping server with a Ferry worker on `taskQueue`, a loaded endpoint directory, a push
 * service over it and a receiver, set up before the suite's tests and torn down after them.
 * Endpoints are always allowed to reach the receiver on loopback.
 */
export function usePushTestBed(taskQueue: string, settings: Record<string, string>): PushTestBed {
  const config = loadConfig({ FERRY_PUSH_ALLOW_CIDRS: '127.0.0.1/32', FERRY_ENDPOINT_REFRESH_MS: '200', ...settings });
  const bed = { config, taskQueue } as PushTestBed;
  let worker: FerryWorker | undefined;
  let running: Promise<void> | undefined;

  beforeAll(async () => {
    bed.env = await createTimeSkippingEnv();
    const { env } = bed;
    worker = await FerryWorker.create({ connection: env.nativeConnection, client: env.client, namespace: env.namespace ?? 'default', taskQueue, config });
    running = worker.run();
    bed.directory = new EndpointDirectory(env.client, {
      taskQueue,
      policy: healthPolicy(config),
      quotas: endpointQuotas(config),
      refreshMs: config.FERRY_ENDPOINT_REFRESH_MS,
      onRefreshError: () => undefined,
    });
    await bed.directory.start();
    await eventually(async () => expect(bed.directory.loaded).toBe(true), 20_000, 100);
    bed.pushes = new PushService(env.client, taskQueue, bed.directory);
    bed.receiver = await Receiver.start();
    bed.plain = new Client({ connection: env.connection, namespace: env.namespace ?? 'default', dataConverter: testDataConverter });
  }, 60_000);

  afterAll(async () => {
    await bed.directory?.stop();
    worker?.shutdown();
    await running;
    await bed.receiver?.stop();
    await bed.env?.teardown();
  });

  return bed;
}
