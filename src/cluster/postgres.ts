import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';

/** Debian's PostgreSQL 15, as `apt-get install postgresql` puts it on bookworm. */
const BIN = '/usr/lib/postgresql/15/bin';
/** PostgreSQL refuses to run as root; Debian's package creates this user. */
const SERVICE_USER = 'postgres';
/** The role Temporal connects as. */
export const POSTGRES_USER = 'temporal';

export interface Postgres {
  host: string;
  port: number;
  /** The postmaster's process id (its backends are in its process group). */
  pid(): number;
  stop(): Promise<void>;
}

const asRoot = () => userInfo().uid === 0;

/** Runs a PostgreSQL program as the service user when this process is root, as itself otherwise. */
function pgRun(program: string, args: string[]): void {
  const command = asRoot() ? 'runuser' : join(BIN, program);
  const argv = asRoot() ? ['-u', SERVICE_USER, '--', join(BIN, program), ...args] : args;
  const result = spawnSync(command, argv, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) throw new Error(`${program} ${args.join(' ')} failed (exit ${result.status ?? result.signal})`);
}

/** Installs Debian's PostgreSQL when it is missing (root only; others are told what to run). */
function ensureInstalled(): void {
  if (existsSync(join(BIN, 'pg_ctl'))) return;
  if (!asRoot()) throw new Error(`PostgreSQL 15 is not installed (${BIN}); run: sudo apt-get install -y postgresql`);
  console.log('installing PostgreSQL 15 (apt-get install postgresql)…');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['install', '-y', '-qq', 'postgresql'], { stdio: 'inherit', env });
}

/**
 * Starts PostgreSQL on loopback with its data in `dataDir` (created with `initdb` on first start,
 * reused after). Connections from 127.0.0.1 are trusted: the server listens nowhere else.
 */
export function startPostgres({ dataDir, host, port }: { dataDir: string; host: string; port: number }): Postgres {
  ensureInstalled();
  const data = join(dataDir, 'data');
  mkdirSync(dataDir, { recursive: true });
  if (asRoot()) {
    const idOf = (flag: '-u' | '-g') => Number(execFileSync('id', [flag, SERVICE_USER], { encoding: 'utf8' }).trim());
    chownSync(dataDir, idOf('-u'), idOf('-g'));
  }
  if (!existsSync(join(data, 'PG_VERSION'))) {
    console.log(`creating a PostgreSQL cluster in ${data}…`);
    pgRun('initdb', ['-D', data, '-U', POSTGRES_USER, '--auth=trust', '-E', 'UTF8', '--locale=C']);
  }
  pgRun('pg_ctl', ['-D', data, '-l', join(dataDir, 'postgres.log'), '-o', `-h ${host} -p ${port} -k ${dataDir}`, '-w', 'start']);
  return {
    host,
    port,
    pid: () => Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]),
    async stop() {
      pgRun('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
    },
  };
}
