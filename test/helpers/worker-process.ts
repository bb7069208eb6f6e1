import type { ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import type { Connection } from '@temporalio/client';
import type { FerryProcess } from './ferry-process';
import { startFerryProcess } from './ferry-process';
import { freePort } from './ports';

export interface WorkerProcess extends FerryProcess {
  identity: string;
  metricsPort: number;
}

/** Identities of the workers polling a task queue for activities. */
export async function activityPollers(connection: Connection, taskQueue: string): Promise<string[]> {
  const res = await connection.workflowService.describeTaskQueue({
    namespace: 'default',
    taskQueue: { name: taskQueue },
    taskQueueType: 2, // TASK_QUEUE_TYPE_ACTIVITY
  });
  return (res.pollers ?? []).map((p) => p.identity ?? '');
}

/**
 * Starts `src/workers/main.ts` (what `npm run start:worker` runs) in its own process against the
 * connection's server and waits until it polls for activities.
 */
export async function startWorkerProcess(connection: Connection, taskQueue: string, env: Partial<Record<string, string>> = {}): Promise<WorkerProcess> {
  const metricsPort = await freePort();
  const started = await startFerryProcess(
    'src/workers/main.ts',
    {
      TEMPORAL_ADDRESS: connection.options.address,
      FERRY_TASK_QUEUE: taskQueue,
      FERRY_WORKER_METRICS_PORT: String(metricsPort),
      FERRY_PUSH_ALLOW_CIDRS: '127.0.0.1/32',
      FERRY_ENDPOINT_REFRESH_MS: '300',
      ...env,
    },
    async ({ child }) => expect(await activityPollers(connection, taskQueue)).toContain(identityOf(child)),
  );
  return { ...started, identity: identityOf(started.child), metricsPort };
}

/** The identity the SDK gives a worker by default. */
const identityOf = (child: ChildProcess): string => `${child.pid}@${hostname()}`;
