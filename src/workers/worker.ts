import type { Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { Worker } from '@temporalio/worker';
import { createActivities } from '../activities';

export interface FerryWorkerOptions {
  connection: NativeConnection;
  /** Used by activities that signal or start workflows. */
  client: Client;
  namespace: string;
  taskQueue: string;
}

/** The worker that runs every Ferry workflow and activity. */
export async function createFerryWorker({ connection, client, namespace, taskQueue }: FerryWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection,
    namespace,
    taskQueue,
    workflowsPath: require.resolve('../workflows'),
    activities: createActivities({ client, taskQueue }),
  });
}

/**
 * Starts a graceful shutdown: no new tasks, in-flight activities finish. The SDK already does this
 * itself on SIGINT/SIGTERM, so a worker that is not running any more is left alone.
 */
export function stopWorker(worker: Worker): void {
  if (worker.getState() === 'RUNNING') worker.shutdown();
}
