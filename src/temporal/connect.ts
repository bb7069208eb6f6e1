import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';

/** One client connection per process, shared by every request. */
export async function connectClient(address: string, namespace: string): Promise<{ client: Client; connection: Connection }> {
  const connection = await Connection.connect({ address });
  return { client: new Client({ connection, namespace }), connection };
}

export function connectWorker(address: string): Promise<NativeConnection> {
  return NativeConnection.connect({ address });
}

/**
 * Whether starts through this client may ask for eager workflow start: only on a worker's
 * NativeConnection, where Core takes the first workflow task from the start response and asks for it
 * only while a worker of this process has a free slot on the task queue. The SDK refuses the option
 * on any other connection.
 */
export const eagerStartPossible = (client: Client): boolean => client.connection instanceof NativeConnection;
