import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { TEST_CODEC_KEYS } from './codec';
import { eventually } from './eventually';

export interface FerryProcess {
  child: ChildProcess;
  /** Everything it printed, stdout and stderr interleaved. */
  output: string[];
  /** Its exit code (null when a signal ended it). */
  exited: Promise<number | null>;
}

/**
 * Runs one of Ferry's entry points (as its `npm run start:*` script does) in its own process with
 * the test codec keys and `env`, and waits until `ready` passes; a process that does not get there
 * within a minute is killed and its output is in the error.
 */
export async function startFerryProcess(entry: string, env: Partial<Record<string, string>>, ready: (started: FerryProcess) => Promise<void>): Promise<FerryProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    env: { ...process.env, FERRY_CODEC_KEYS: TEST_CODEC_KEYS, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout.on('data', (d: Buffer) => output.push(d.toString()));
  child.stderr.on('data', (d: Buffer) => output.push(d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const started = { child, output, exited };
  await eventually(() => ready(started), 60_000, 200).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw new Error(`${entry} did not start: ${String(err)}\n${output.join('')}`);
  });
  return started;
}
