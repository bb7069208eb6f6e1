import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { TEST_CODEC_KEYS } from './codec';
import { eventually } from './eventually';
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
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/api/main.ts'], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: address,
      FERRY_TASK_QUEUE: taskQueue,
      FERRY_API_PORT: String(queuePort),
      FERRY_ADMIN_PORT: String(adminPort),
      FERRY_CODEC_KEYS: TEST_CODEC_KEYS,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr.on('data', (d: Buffer) => output.push(d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const api: ApiProcess = {
    child,
    queueUrl: `http://127.0.0.1:${queuePort}`,
    adminUrl: `http://127.0.0.1:${adminPort}`,
    output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
  await eventually(async () => expect((await fetch(`${api.adminUrl}/health`)).status).toBe(200), 60_000, 200).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw new Error(`API process did not start: ${String(err)}\n${output.join('')}`);
  });
  return api;
}
