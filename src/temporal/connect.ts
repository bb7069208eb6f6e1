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
