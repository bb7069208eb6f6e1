import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { status } from '@grpc/grpc-js';
import Long from 'long';
import { ensureSearchAttributes } from '../temporal/search-attributes';
import { grpcCodeOf } from '../temporal/temporal-errors';
import { DYNAMIC_CONFIG_FILE } from '../local-temporal/dynamic-config';
import type { Postgres } from './postgres';
import { startPostgres } from './postgres';
import type { TemporalServer } from './temporal-server';
import { startTemporalServer } from './temporal-server';

/** How long Temporal keeps a closed workflow (a finished job or push) before deleting it. */
const RETENTION_SECONDS = 7 * 86_400;
/** The one dynamic config every server Ferry starts reads. */

export interface TemporalClusterOptions {
  /** PostgreSQL's data and the server's config go under it; a second start reuses them. */
  dataDir: string;
  host: string;
  postgresPort: number;
  /** The frontend's gRPC port. */
  port: number;
  shards: number;
  namespace: string;
  /** The server's log file; this process's output when absent. */
  logFile?: string;
}

export interface TemporalCluster {
  address: string;
  postgres: Postgres;
  server: TemporalServer;
  /** Starts a server again on the same data after it died (a crash test's restart). */
  restartServer(): Promise<void>;
  /** Starts PostgreSQL again on the same data after it died. */
  restartPostgres(): void;
  /** Temporal first, then PostgreSQL. */
  stop(): Promise<void>;
}

/** Registers the namespace (once) and waits until the frontend serves it with Ferry's search attributes. */
export async function ensureNamespace(address: string, namespace: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    try {
      await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: { seconds: Long.fromNumber(RETENTION_SECONDS) } });
    } catch (err) {
      if (grpcCodeOf(err) !== status.ALREADY_EXISTS) throw err;
    }
    // Services learn of a new namespace from their namespace cache, refreshed every ~10 s.
    for (const deadline = Date.now() + 60_000; ; ) {
      try {
        await ensureSearchAttributes(connection, namespace);
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  } finally {
    await connection.close();
  }
}

/**
 * The production shape of Temporal on this machine, loopback only: PostgreSQL 15 for history and
 * visibility, the full server with `shards` history shards, the namespace and Ferry's search attributes.
 */
export async function startTemporalCluster(options: TemporalClusterOptions): Promise<TemporalCluster> {
  const { dataDir, host, port, shards, namespace } = options;
  const startDb = () => startPostgres({ dataDir: join(dataDir, 'postgres'), host, port: options.postgresPort });
  const postgres = startDb();
  const startServer = () =>
    startTemporalServer({ dataDir: join(dataDir, 'temporal'), store: { postgres }, host, port, shards, dynamicConfigFile: DYNAMIC_CONFIG_FILE, logFile: options.logFile });
  const cluster: TemporalCluster = {
    address: `${host}:${port}`,
    postgres,
    server: await startServer(),
    async restartServer() {
      cluster.server = await startServer();
    },
    restartPostgres() {
      startDb();
    },
    async stop() {
      await cluster.server.stop();
      await postgres.stop();
    },
  };
  await ensureNamespace(cluster.address, namespace);
  return cluster;
}
