import type { Config } from './config';
import type { DataConverter } from '@temporalio/common';
import { codecEndpointUrl, dataConverter, retentionPolicy } from './config';
import { ensureTemporalRetention } from './temporal/retention';
import { startApi } from './api/server';
import { connectClient, connectWorker } from './temporal/connect';
import type { DevServer } from './local-temporal/dev-server';
import { startDevServer } from './local-temporal/dev-server';
import { ensureSearchAttributes } from './temporal/search-attributes';
import { FerryWorker, installWorkerRuntime } from './workers/worker';
import { onShutdownSignal, runMain } from './process';

/**
 * `npm start`: everything in one process tree. Without TEMPORAL_ADDRESS it first starts an embedded
 * Temporal dev server persisting under FERRY_DATA_DIR. `converter` is the payload codec's; only the
 * codec benchmark passes another, to measure what the codec costs.
 */
export async function main(config: Config, converter: DataConverter = dataConverter(config)): Promise<void> {
  installWorkerRuntime(config.FERRY_WORKER_METRICS_HOST, config.FERRY_WORKER_METRICS_PORT);
  let devServer: DevServer | undefined;
  let address = config.TEMPORAL_ADDRESS;
  if (!address) {
    console.log(`starting the embedded Temporal dev server (data in ${config.FERRY_DATA_DIR})…`);
    devServer = await startDevServer({
      dataDir: config.FERRY_DATA_DIR,
      host: config.FERRY_TEMPORAL_HOST,
      uiHost: config.FERRY_UI_HOST,
      port: config.FERRY_TEMPORAL_PORT,
      uiPort: config.FERRY_UI_PORT,
      namespace: config.TEMPORAL_NAMESPACE,
      codecEndpoint: codecEndpointUrl(config),
    });
    address = devServer.address;
  }
  const { client, connection: clientConnection } = await connectClient(address, config.TEMPORAL_NAMESPACE, converter);
  await ensureSearchAttributes(clientConnection, config.TEMPORAL_NAMESPACE);
  // The embedded server keeps finished workflows a day; Ferry's retention needs as long as its longest.
  if (devServer) await ensureTemporalRetention(client, retentionPolicy(config));
  const workerConnection = await connectWorker(address);
  const worker = await FerryWorker.create({
    connection: workerConnection,
    client,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.FERRY_TASK_QUEUE,
    config,
  });
  const workerDone = worker.run();
  const api = await startApi(config, client);

  console.log(`
Ferry is running.
  queue API  ${api.queueUrl}/api/:namespace/:queue
  push API   ${api.queueUrl}/push/:namespace
  admin API  ${api.adminUrl}  (metrics: ${api.adminUrl}/metrics and http://${config.FERRY_WORKER_METRICS_HOST}:${config.FERRY_WORKER_METRICS_PORT}/metrics)
  Temporal   ${address}${devServer ? `\n  Web UI     ${devServer.uiUrl}` : ''}

Create a first token:
  curl -X POST '${api.adminUrl}/token/demo?description=first'
`);

  onShutdownSignal(async () => {
    console.log('stopping: no new requests, finishing in-flight work…');
    try {
      await api.close();
      worker.shutdown();
      await workerDone;
      await workerConnection.close();
      await clientConnection.close();
    } finally {
      await devServer?.stop();
    }
  });
}

if (require.main === module) runMain((config) => main(config));
