import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TemporalCluster } from '../../src/cluster/temporal-cluster';
import { startTemporalCluster } from '../../src/cluster/temporal-cluster';
import { freePort } from '../helpers/ports';

/** What global-teardown.ts stops; jest runs both in its main process. */
export const running = globalThis as { ferryTestCluster?: { cluster: TemporalCluster; dataDir: string } };

/**
 * `npm run test:cluster`: one PostgreSQL cluster (PostgreSQL 15, the full Temporal server with 8
 * history shards) for every suite, on a fresh data folder. The suites find it through
 * FERRY_TEST_CLUSTER_ADDRESS, which the test processes inherit.
 */
export default async function setUpCluster(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ferry-test-cluster-'));
  // PostgreSQL runs as its own user, which must reach its data folder.
  chmodSync(dataDir, 0o755);
  const started = Date.now();
  const cluster = await startTemporalCluster({ dataDir, host: '127.0.0.1', postgresPort: await freePort(), port: await freePort(), shards: 8, namespace: 'default', logFile: join(dataDir, 'temporal-server.log') });
  console.log(`\ncluster for the suites: Temporal ${cluster.address} on PostgreSQL ${cluster.postgres.host}:${cluster.postgres.port}, 8 shards, started in ${Date.now() - started} ms`);
  process.env.FERRY_TEST_CLUSTER_ADDRESS = cluster.address;
  running.ferryTestCluster = { cluster, dataDir };
}
