import type { Client } from '@temporalio/client';
import type { IndexKind } from '../temporal/indexes';
import { signalIndexWithStart } from '../temporal/indexes';

export interface ActivityDeps {
  client: Client;
  taskQueue: string;
}

/** Activities get their Temporal client from the worker, so tests can hand in the test server's. */
export const createActivities = ({ client, taskQueue }: ActivityDeps) => ({
  /** A job's index workflow was not running (e.g. terminated by an operator): start it and signal. */
  async signalIndex(request: {
    index: IndexKind;
    namespace: string;
    queue: string;
    signal: string;
    payload: unknown;
  }): Promise<void> {
    await signalIndexWithStart(client, taskQueue, request, request.signal, request.payload);
  },
});
