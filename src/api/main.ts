import { dataConverter, loadConfig } from '../config';
import { exitOnStartupError, onShutdownSignal } from '../process';
import { connectClient } from '../temporal/connect';
import { startApi } from './server';

/** The HTTP API alone, for deployments that scale API replicas apart from workers. */
async function main(): Promise<void> {
  const config = loadConfig();
  const address = config.TEMPORAL_ADDRESS ?? `${config.FERRY_TEMPORAL_HOST}:${config.FERRY_TEMPORAL_PORT}`;
  const { client, connection: clientConnection } = await connectClient(address, config.TEMPORAL_NAMESPACE, dataConverter(config));
  const api = await startApi(config, client);
  console.log(`queue API ${api.queueUrl}, admin API ${api.adminUrl}, Temporal ${address}`);
  onShutdownSignal(async () => {
    await api.close();
    await clientConnection.close();
  });
}

main().catch(exitOnStartupError);
