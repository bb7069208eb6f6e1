import type { Client } from '@temporalio/client';
import type { IndexKind } from '../temporal/indexes';
import { signalIndexWithStart } from '../temporal/indexes';
import type { IndexEntry } from '../workflows/ordered-index';
import type { IndexSpan } from './index-range';
import { listIndexSpan } from './index-range';

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

  /** An index loads back jobs it had spilled (kept only as a count) from visibility. */
  async listIndexRange(span: IndexSpan): Promise<IndexEntry[]> {
    return listIndexSpan(client, span);
  },
});
