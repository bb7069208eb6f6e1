import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Connection } from '@temporalio/client';
import { devServerDynamicConfigArgs } from './dynamic-config';
import { devServerSearchAttributeArgs } from '../temporal/search-attributes';
import { temporalTools } from './tools';

export interface DevServerOptions {
  dataDir: string;
  /** Where the gRPC frontend listens. */
  host: string;
  port: number;
  /** Where the Web UI listens; the frontend's address when absent. */
  uiHost?: string;
  uiPort: number;
  namespace: string;
  /**
   * SQLite's `synchronous` pragma. `normal` (the default) syncs at WAL checkpoints: a crash of any
   * process loses nothing, an OS crash can lose the last commits. `full` syncs every commit.
   */
  sqliteSynchronous?: 'normal' | 'full';
  /** Dynamic config on top of Ferry's (`key=value`), for comparisons (`npm run bench:servers`). */
  extraDynamicConfig?: string[];
  /** The remote codec the Web UI decodes payloads with (Ferry's `/codec` on the admin API). */
  codecEndpoint?: string;
}

export interface DevServer {
  address: string;
  uiUrl: string;
  /** The server's process (fault tests kill it). */
  pid: number;
  stop(): Promise<void>;
}

/**
 * Runs `temporal server start-dev` as a child process with Ferry's search attributes, persisting
 * to SQLite under the data folder, and waits until its frontend answers.
 */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const cli = temporalTools().temporal ?? 'temporal';
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const args = [
    'server', 'start-dev',
    '--ip', options.host,
    '--port', String(options.port),
    '--ui-ip', options.uiHost ?? options.host,
    '--ui-port', String(options.uiPort),
    '--namespace', options.namespace,
    '--db-filename', join(dataDir, 'temporal.sqlite'),
    // WAL without a sync per commit: 2.4x the start rate of the default (measured: 115 -> 279/s);
    // it survives a crash of any process, only an OS crash can drop the last commits.
    '--sqlite-pragma', 'journal_mode=wal',
    '--sqlite-pragma', `synchronous=${options.sqliteSynchronous ?? 'normal'}`,
    '--log-level', 'warn',
    ...devServerSearchAttributeArgs(),
    ...devServerDynamicConfigArgs(),
    ...(options.extraDynamicConfig ?? []).flatMap((value) => ['--dynamic-config-value', value]),
    ...(options.codecEndpoint ? ['--ui-codec-endpoint', options.codecEndpoint] : []),
  ];
  // Its own process group: Ctrl-C reaches Ferry only, which stops the server last, after the
  // worker has drained.
  const child: ChildProcess = spawn(cli, args, { stdio: ['ignore', 'inherit', 'inherit'], detached: true });
  const exited = new Promise<number | null>((done) => child.once('exit', done));
  child.once('error', () => undefined);
  // Whatever way this process ends, the server must not outlive it holding the port and database.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const address = `${options.host}:${options.port}`;
  await waitForFrontend(child, address, { name: `temporal dev server (${cli})`, timeoutMs: 60_000, pollMs: 250, hint: `; is port ${options.port} free?` });
  return {
    address,
    uiUrl: `http://${options.uiHost ?? options.host}:${options.uiPort}`,
    pid: child.pid!,
    async stop() {
      process.removeListener('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Waits until the Temporal frontend a child process serves at `address` answers; throws when the
 * child exits first, or (killing it) when `timeoutMs` pass.
 */
export async function waitForFrontend(
  child: ChildProcess,
  address: string,
  { name, timeoutMs, pollMs, hint = '' }: { name: string; timeoutMs: number; pollMs: number; hint?: string },
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${name} exited with ${child.exitCode ?? child.signalCode}${hint}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      await connection.workflowService.getSystemInfo({});
      await connection.close();
      return;
    } catch (err) {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`${name} did not answer on ${address} within ${timeoutMs / 1000} s`, { cause: err });
      }
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }
}
