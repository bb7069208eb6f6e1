import type { ChildProcess } from 'node:child_process';
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { waitForFrontend } from '../local-temporal/dev-server';
import { temporalTools } from '../local-temporal/tools';
import type { Postgres } from './postgres';
import { POSTGRES_USER } from './postgres';

export interface TemporalServerOptions {
  /** Where its config file goes. */
  dataDir: string;
  /** Where history and visibility live: PostgreSQL, or (for comparison with the dev server) SQLite files in `dataDir`. */
  store: { postgres: Postgres } | { sqlite: true };
  host: string;
  /** The frontend's gRPC port; the other services use ports up to 26 above it, below 32768. */
  port: number;
  shards: number;
  /** The dynamic config file every server Ferry starts reads. */
  dynamicConfigFile: string;
  /** Where the server's log goes (appended); this process's output when absent. */
  logFile?: string;
}

export interface TemporalServer {
  address: string;
  pid: number;
  stop(): Promise<void>;
}

const DATABASES = { default: 'temporal', visibility: 'temporal_visibility' } as const;
/** Services' membership (ringpop) ports sit this far above their gRPC ports (PostgreSQL keeps them as smallint). */
const MEMBERSHIP_PORT_OFFSET = 20;

/** Creates both databases and brings their schemas to this server's version (each step is idempotent). */
function setUpSchemas(postgres: Postgres): void {
  const { sqlTool, schemaDir } = temporalTools();
  if (!sqlTool || !schemaDir) throw new Error('the Temporal SQL tool is missing: run `node scripts/temporal-tools.mjs --server`');
  for (const [kind, database] of Object.entries(DATABASES)) {
    const sql = (...args: string[]) =>
      execFileSync(sqlTool, ['--plugin', 'postgres12', '--ep', postgres.host, '-p', String(postgres.port), '-u', POSTGRES_USER, '--db', database, ...args], {
        stdio: ['ignore', 'ignore', 'inherit'],
      });
    sql('create-database');
    sql('setup-schema', '-v', '0.0');
    sql('update-schema', '-d', join(schemaDir, kind === 'default' ? 'temporal' : 'visibility', 'versioned'));
  }
}

/**
 * SQLite as the dev server uses it (WAL, a sync at checkpoints), one file per store: v1.29.1's
 * plugin keeps one connection per file, so visibility gets its own instead of queueing behind
 * history. The plugin creates the schema itself (`setup`).
 */
const sqliteStore = (file: string) => `
      sql:
        pluginName: sqlite
        databaseName: "${file}"
        connectAddr: localhost
        connectProtocol: tcp
        connectAttributes:
          mode: rwc
          setup: "true"
          journal_mode: wal
          synchronous: normal
          busy_timeout: "10000"`;

/** The server's static config: history and visibility stores, every service on loopback. */
function configYaml({ store: stores, dataDir, host, port, shards, dynamicConfigFile }: TemporalServerOptions): string {
  const postgres = 'postgres' in stores ? stores.postgres : undefined;
  const store = (database: string, maxConns: number) => !postgres ? sqliteStore(join(resolve(dataDir), `${database}.sqlite`)) : `
      sql:
        pluginName: postgres12
        databaseName: ${database}
        connectAddr: "${postgres.host}:${postgres.port}"
        connectProtocol: tcp
        user: ${POSTGRES_USER}
        maxConns: ${maxConns}
        maxIdleConns: ${maxConns}
        maxConnLifetime: 1h`;
  // Membership ports follow the frontend's, so two servers on one host (a test beside a cluster) never meet.
  const service = (name: string, offset: number) => `
  ${name}:
    rpc:
      grpcPort: ${port + offset}
      membershipPort: ${port + MEMBERSHIP_PORT_OFFSET + offset}
      bindOnIP: ${host}`;
  return `log:
  stdout: true
  level: warn
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: ${shards}
  datastores:
    default:${store(DATABASES.default, 20)}
    visibility:${store(DATABASES.visibility, 10)}
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: ${host}
services:${service('frontend', 0)}
      httpPort: ${port + 10}${service('history', 1)}${service('matching', 2)}${service('worker', 6)}
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "${host}:${port}"
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: "${resolve(dynamicConfigFile)}"
  pollInterval: 10s
`;
}

/**
 * Starts the full Temporal server (built by `scripts/temporal-tools.mjs --server`) on PostgreSQL
 * with `shards` history shards, and waits until its frontend answers. The shard count is fixed when
 * the databases are first used; a later start with another count is refused by the server.
 */
export async function startTemporalServer(options: TemporalServerOptions): Promise<TemporalServer> {
  const { server } = temporalTools();
  if (!server) throw new Error('the Temporal server is missing: run `node scripts/temporal-tools.mjs --server`');
  if (options.port + MEMBERSHIP_PORT_OFFSET + 6 > 32_767) throw new Error(`Temporal's port ${options.port} is too high: its services use ports up to ${MEMBERSHIP_PORT_OFFSET + 6} above it, which must stay below 32768`);
  if ('postgres' in options.store) setUpSchemas(options.store.postgres);
  mkdirSync(options.dataDir, { recursive: true });
  const configDir = join(options.dataDir, 'config');
  mkdirSync(configDir, { recursive: true });
  writeFileSync(join(configDir, 'ferry.yaml'), configYaml(options));
  const log = options.logFile === undefined ? 'inherit' : openSync(options.logFile, 'a');
  const child: ChildProcess = spawn(server, ['--root', options.dataDir, '--config', 'config', '--env', 'ferry', '--allow-no-auth', 'start'], {
    stdio: ['ignore', log, log],
    detached: true,
  });
  if (typeof log === 'number') closeSync(log);
  child.once('error', () => undefined);
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const address = `${options.host}:${options.port}`;
  await waitForFrontend(child, address, { name: 'temporal-server', timeoutMs: 120_000, pollMs: 500 });
  return {
    address,
    pid: child.pid!,
    async stop() {
      process.off('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
      child.kill('SIGKILL');
    },
  };
}
