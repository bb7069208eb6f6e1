import type { ChildProcess } from 'node:child_process';
import { startFerryProcess } from './ferry-process';
import { freePort } from './ports';

export interface ApiProcess {
  child: ChildProcess;
  queueUrl: string;
  adminUrl: string;
  output: string[];
  stop(): Promise<void>;
}

/**
 * Starts `src/api/main.ts` (what `npm run start:api` runs) in its own process against a Temporal
 * address and waits until its admin API answers /health.
 */
export async function startApiProcess(address: string, taskQueue: string, env: Partial<Record<string, string>> = {}): Promise<ApiProcess> {
  const [queuePort, adminPort] = [await freePort(), await freePort()];
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const { child, output, exited } = await startFerryProcess(
    'src/api/main.ts',
    { TEMPORAL_ADDRESS: address, FERRY_TASK_QUEUE: taskQueue, FERRY_API_PORT: String(queuePort), FERRY_ADMIN_PORT: String(adminPort), ...env },
    async () => expect((await fetch(`${adminUrl}/health`)).status).toBe(200),
  );
  return {
    child,
    queueUrl: `http://127.0.0.1:${queuePort}`,
    adminUrl,
    output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}
