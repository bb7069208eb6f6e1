import type { Client } from '@temporalio/client';
import type { NativeConnection, State } from '@temporalio/worker';
import { bundleWorkflowCode, Runtime, Worker } from '@temporalio/worker';
import { createActivities } from '../activities';
import { indexTaskQueue } from '../workflows/ids';

export interface FerryWorkerOptions {
  connection: NativeConnection;
  /** Used by activities that signal or start workflows. */
  client: Client;
  namespace: string;
  taskQueue: string;
}

/**
 * Runs every Ferry workflow and activity: one SDK worker polls the jobs' task queue, another the
 * index task queue, so index workflows keep their own pollers and cache however many jobs wait.
 */
export class FerryWorker {
  private constructor(private readonly workers: Worker[]) {}

  static async create({ connection, client, namespace, taskQueue }: FerryWorkerOptions): Promise<FerryWorker> {
    const workflowBundle = await bundleWorkflowCode({ workflowsPath: require.resolve('../workflows'), logger: quietBundler });
    const activities = createActivities({ client, taskQueue });
    const workers = await Promise.all(
      [taskQueue, indexTaskQueue(taskQueue)].map((queue) =>
        Worker.create({ connection, namespace, taskQueue: queue, workflowBundle, activities }),
      ),
    );
    return new FerryWorker(workers);
  }

  /** Resolves when both workers have stopped. */
  async run(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.run()));
  }

  /**
   * Starts a graceful shutdown: no new tasks, in-flight activities finish. The SDK already does this
   * itself on SIGINT/SIGTERM, so a worker that is not running any more is left alone.
   */
  shutdown(): void {
    for (const worker of this.workers) if (worker.getState() === 'RUNNING') worker.shutdown();
  }

  getState(): State {
    return this.workers[0]!.getState();
  }
}

/**
 * Installs the worker runtime once per process, with a Prometheus endpoint for the metrics job
 * workflows emit. Must run before the first worker or connection is created.
 */
export function installWorkerRuntime(host: string, metricsPort: number): void {
  Runtime.install({
    telemetryOptions: { metrics: { prometheus: { bindAddress: `${host}:${metricsPort}`, countersTotalSuffix: true, unitSuffix: true } } },
  });
}

/** The bundler logs every module at INFO; only its warnings matter. */
const quietBundler = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string, meta?: Record<string, unknown>) => console.warn(message, meta ?? ''),
  error: (message: string, meta?: Record<string, unknown>) => console.error(message, meta ?? ''),
};
