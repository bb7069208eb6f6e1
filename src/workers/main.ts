import type { Config } from '../config';
import { dataConverter, temporalAddress } from '../config';
import { onShutdownSignal, runMain } from '../process';
import { connectClient, connectWorker } from '../temporal/connect';
import { ensureSearchAttributes } from '../temporal/search-attributes';
import { FerryWorker, installWorkerRuntime } from './worker';

/** A worker alone, for deployments that scale workers apart from the API. */
async function main(config: Config): Promise<void> {
  installWorkerRuntime(config.FERRY_WORKER_METRICS_HOST, config.FERRY_WORKER_METRICS_PORT);
  const address = temporalAddress(config);
  const { client, connection: clientConnection } = await connectClient(address, config.TEMPORAL_NAMESPACE, dataConverter(config));
  await ensureSearchAttributes(clientConnection, config.TEMPORAL_NAMESPACE);
  const connection = await connectWorker(address);
  const worker = await FerryWorker.create({ connection, client, namespace: config.TEMPORAL_NAMESPACE, taskQueue: config.FERRY_TASK_QUEUE, config });
  const running = worker.run();
  // The exit waits for the drain: in-flight deliveries finish (up to the worker's grace time).
  onShutdownSignal(async () => {
    worker.shutdown();
    await running;
  });
  await running;
  await connection.close();
  await clientConnection.close();
}

runMain(main);
