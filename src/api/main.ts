import type { Config } from '../config';
import { dataConverter, temporalAddress } from '../config';
import { onShutdownSignal, runMain } from '../process';
import { connectClient } from '../temporal/connect';
import { startApi } from './server';

/** The HTTP API alone, for deployments that scale API replicas apart from workers. */
async function main(config: Config): Promise<void> {
  const address = temporalAddress(config);
  const { client, connection: clientConnection } = await connectClient(address, config.TEMPORAL_NAMESPACE, dataConverter(config));
  const api = await startApi(config, client);
  console.log(`queue API ${api.queueUrl}, admin API ${api.adminUrl}, Temporal ${address}`);
  onShutdownSignal(async () => {
    await api.close();
    await clientConnection.close();
  });
}

runMain(main);
