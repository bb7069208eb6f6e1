import { join } from 'node:path';
import { freePort } from '../test/helpers/ports';
import { startProcess, waitForPort } from './peers';

export interface FerryProcess {
  base: string;
  admin: string;
  pid: number;
  /** The last chunks of its stdout and stderr (pino JSON lines). */
  output: string[];
  stop(): Promise<void>;
}

/**
 * Ferry as `npm start` runs it against an existing server (worker and API in one process,
 * `src/main.ts`, or another `entry` that runs it).
 */
export async function startFerryProcess(
  temporalAddress: string,
  taskQueue: string,
  { entry = join(__dirname, '..', 'src', 'main.ts'), env = {} }: { entry?: string; env?: Record<string, string> } = {},
): Promise<FerryProcess> {
  const [port, admin, metrics] = [await freePort(), await freePort(), await freePort()];
  // FERRY_BENCH_PROFILE_DIR: a V8 CPU profile of Ferry's main thread, written there when it stops.
  const profile = process.env.FERRY_BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.FERRY_BENCH_PROFILE_DIR}`] : [];
  const ferry = startProcess(process.execPath, [...profile, '--import', 'tsx', entry], {
    ...process.env,
    TEMPORAL_ADDRESS: temporalAddress,
    FERRY_TASK_QUEUE: taskQueue,
    FERRY_API_PORT: String(port),
    FERRY_ADMIN_PORT: String(admin),
    FERRY_WORKER_METRICS_PORT: String(metrics),
    FERRY_LOG_LEVEL: 'warn',
    ...env,
  });
  try {
    await waitForPort(port, 'Ferry', ferry.output, 120_000);
  } catch (err) {
    await ferry.stop();
    throw err;
  }
  return { base: `http://127.0.0.1:${port}`, admin: `http://127.0.0.1:${admin}`, pid: ferry.child.pid!, output: ferry.output, stop: () => ferry.stop() };
}
