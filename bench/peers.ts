/**
 * The peers Ferry is measured against, obtained at run time into the git-ignored `.tools/bench`:
 * Redis from Debian (apt-get), lmstfy built from its Go module, BullMQ from npm. None of their
 * code is part of Ferry.
 */
import type { ChildProcess } from 'node:child_process';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep } from './lib';

const toolsDir = join(__dirname, '..', '.tools', 'bench');
const LMSTFY_VERSION = 'v1.0.15';
const BULLMQ_VERSION = '5';

const run = (cmd: string, args: string[], cwd?: string) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 'inherit', 'inherit'] });

const onPath = (cmd: string): boolean => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

/** Redis as Debian ships it; installed with apt-get when missing (the harness runs as root in CI). */
export function obtainRedis(): string {
  if (!onPath('redis-server')) {
    console.log('installing redis-server from Debian…');
    run('apt-get', ['install', '-y', '-q', 'redis-server']);
  }
  return 'redis-server';
}

/** lmstfy's server, built from its Go module (`go build` in a scratch module that requires it). */
export function obtainLmstfy(): string {
  const binary = join(toolsDir, `lmstfy-server-${LMSTFY_VERSION}`);
  if (existsSync(binary)) return binary;
  const module = join(toolsDir, 'lmstfy-build');
  mkdirSync(module, { recursive: true });
  writeFileSync(join(module, 'go.mod'), `module ferrybench/lmstfy\n\ngo 1.17\n\nrequire github.com/bitleak/lmstfy ${LMSTFY_VERSION}\n`);
  console.log(`building lmstfy ${LMSTFY_VERSION} from its Go module…`);
  run('go', ['build', '-mod=mod', '-o', binary, 'github.com/bitleak/lmstfy/server'], module);
  return binary;
}

/** The parts of BullMQ the harness uses. */
export interface BullJob {
  moveToCompleted(result: unknown, token: string, fetchNext: boolean): Promise<unknown>;
}
export interface BullWorker {
  getNextJob(token: string): Promise<BullJob | undefined>;
  close(): Promise<void>;
}
export interface BullQueue {
  add(name: string, data: unknown): Promise<unknown>;
  close(): Promise<void>;
}
export interface BullMQ {
  Queue: new (name: string, options: { connection: RedisOptions }) => BullQueue;
  Worker: new (name: string, processor: undefined, options: { connection: RedisOptions; autorun: boolean }) => BullWorker;
}
export interface RedisOptions {
  host: string;
  port: number;
  maxRetriesPerRequest: null;
}

/** BullMQ from npm, installed into `.tools/bench/bullmq`, never into Ferry's own dependencies. */
export function obtainBullMQ(): BullMQ {
  const dir = join(toolsDir, 'bullmq');
  if (!existsSync(join(dir, 'node_modules', 'bullmq'))) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), '{ "private": true }\n');
    console.log(`installing bullmq@${BULLMQ_VERSION} from npm…`);
    run('npm', ['install', '--no-audit', '--no-fund', '--silent', `bullmq@${BULLMQ_VERSION}`], dir);
  }
  return createRequire(join(dir, 'package.json'))('bullmq') as BullMQ;
}

export const bullmqVersion = (): string =>
  (createRequire(join(toolsDir, 'bullmq', 'package.json'))('bullmq/package.json') as { version: string }).version;

export interface Peer {
  child: ChildProcess;
  stop(): Promise<void>;
}

export function startProcess(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): { child: ChildProcess; output: string[]; stop(): Promise<void> } {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  const output: string[] = [];
  const keep = (d: Buffer) => {
    output.push(d.toString());
    if (output.length > 200) output.shift();
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  return {
    child,
    output,
    async stop() {
      process.removeListener('exit', kill);
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(kill, 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export async function waitForPort(port: number, what: string, output: string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((done) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end();
        done(true);
      });
      socket.once('error', () => done(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`${what} did not listen on ${port}:\n${output.join('')}`);
    await sleep(100);
  }
}

/**
 * A Redis server on loopback with its append-only file on, as lmstfy requires (it refuses to start
 * without) and BullMQ's production guide asks: synced every second, or with `fsyncAlways` on every write.
 */
export async function startRedis(port: number, fsyncAlways: boolean): Promise<Peer> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-redis-'));
  const durability = ['--appendonly', 'yes', '--appendfsync', fsyncAlways ? 'always' : 'everysec'];
  const redis = startProcess(obtainRedis(), ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, ...durability]);
  await waitForPort(port, 'redis', redis.output);
  return redis;
}

/** lmstfy on loopback against that Redis (tokens and jobs in the same one). */
export async function startLmstfy(redisPort: number, port: number, adminPort: number): Promise<Peer> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-bench-lmstfy-'));
  const config = join(dir, 'config.toml');
  writeFileSync(
    config,
    [
      'Host = "127.0.0.1"',
      `Port = ${port}`,
      'AdminHost = "127.0.0.1"',
      `AdminPort = ${adminPort}`,
      'LogLevel = "warn"',
      'EnableAccessLog = false',
      '[AdminRedis]',
      `Addr = "127.0.0.1:${redisPort}"`,
      '[Pool]',
      '[Pool.default]',
      `Addr = "127.0.0.1:${redisPort}"`,
      '',
    ].join('\n'),
  );
  const lmstfy = startProcess(obtainLmstfy(), ['-c', config, '-p', join(dir, 'lmstfy.pid')]);
  await waitForPort(port, 'lmstfy', lmstfy.output);
  await waitForPort(adminPort, 'lmstfy admin', lmstfy.output);
  return lmstfy;
}
