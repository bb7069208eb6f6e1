import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import type { Connection } from '@temporalio/client';
import { TEST_CODEC_KEYS } from './codec';
import { eventually } from './eventually';
import { freePort } from './ports';

export interface WorkerProcess {
  child: ChildProcess;
  identity: string;
  metricsPort: number;
  exited: Promise<number | null>;
  output: string[];
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
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/workers/main.ts'], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: connection.options.address,
      FERRY_TASK_QUEUE: taskQueue,
      FERRY_WORKER_METRICS_PORT: String(metricsPort),
      FERRY_PUSH_ALLOW_CIDRS: '127.0.0.1/32',
      FERRY_ENDPOINT_REFRESH_MS: '300',
      FERRY_CODEC_KEYS: TEST_CODEC_KEYS,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr.on('data', (d: Buffer) => output.push(d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const worker = { child, identity: `${child.pid}@${hostname()}`, metricsPort, exited, output };
  await eventually(async () => expect(await activityPollers(connection, taskQueue)).toContain(worker.identity), 60_000, 200).catch(
    (err: unknown) => {
      child.kill('SIGKILL');
      throw new Error(`worker did not start: ${String(err)}\n${output.join('')}`);
    },
  );
  return worker;
}
