import { rmSync } from 'node:fs';
import { running } from './global-setup';

export default async function tearDownCluster(): Promise<void> {
  const started = running.ferryTestCluster;
  if (!started) return;
  await started.cluster.stop();
  rmSync(started.dataDir, { recursive: true, force: true });
}
