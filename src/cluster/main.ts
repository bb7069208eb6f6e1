import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import type { Config } from '../config';
import { codecEndpointUrl, codecKeys } from '../config';
import { onShutdownSignal, runMain } from '../process';
import { startTemporalCluster } from './temporal-cluster';
import { startUiServer } from './ui-server';

/** Each API process listens this many ports above the previous one (queue and admin alike). */
const API_PORT_STEP = 10;

/** A Ferry process (worker or API) on the cluster, its output prefixed with its name. */
function startProcess(name: string, script: string, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, [join(__dirname, '..', script)], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const prefix = (chunk: Buffer) => chunk.toString().replace(/^(?=.)/gm, `[${name}] `);
  child.stdout.on('data', (chunk: Buffer) => process.stdout.write(prefix(chunk)));
  child.stderr.on('data', (chunk: Buffer) => process.stderr.write(prefix(chunk)));
  return child;
}

const stopProcess = (child: ChildProcess) =>
  new Promise<void>((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once('exit', () => done());
    child.kill('SIGTERM');
  });

/**
 * `npm run start:cluster`: the production shape on this machine, loopback only: PostgreSQL, the
 * Temporal server with FERRY_CLUSTER_SHARDS history shards, its Web UI, FERRY_CLUSTER_WORKERS
 * workers and FERRY_CLUSTER_APIS API processes. Data under FERRY_DATA_DIR/cluster, reused by the next start.
 */
async function main(config: Config): Promise<void> {
  const started = Date.now();
  // Made (or checked) once here: every worker and API process then reads the same key file.
  codecKeys(config);
  const root = resolve(config.FERRY_DATA_DIR, 'cluster');
  const host = config.FERRY_TEMPORAL_HOST;
  const cluster = await startTemporalCluster({
    dataDir: root,
    host,
    postgresPort: config.FERRY_CLUSTER_POSTGRES_PORT,
    port: config.FERRY_TEMPORAL_PORT,
    shards: config.FERRY_CLUSTER_SHARDS,
    namespace: config.TEMPORAL_NAMESPACE,
  });
  const { postgres, address } = cluster;
  const ui = await startUiServer({
    dataDir: join(root, 'ui'),
    temporalAddress: address,
    host: config.FERRY_UI_HOST,
    port: config.FERRY_UI_PORT,
    namespace: config.TEMPORAL_NAMESPACE,
    codecEndpoint: codecEndpointUrl(config),
  });

  const common = { TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: config.TEMPORAL_NAMESPACE };
  const workers = Array.from({ length: config.FERRY_CLUSTER_WORKERS }, (_, i) =>
    startProcess(`worker ${i + 1}`, 'workers/main.js', { ...common, FERRY_WORKER_METRICS_PORT: String(config.FERRY_WORKER_METRICS_PORT + i) }),
  );
  const apis = Array.from({ length: config.FERRY_CLUSTER_APIS }, (_, i) => ({
    queue: config.FERRY_API_PORT + i * API_PORT_STEP,
    admin: config.FERRY_ADMIN_PORT + i * API_PORT_STEP,
  }));
  const apiProcesses = apis.map((ports, i) =>
    startProcess(`api ${i + 1}`, 'api/main.js', { ...common, FERRY_API_PORT: String(ports.queue), FERRY_ADMIN_PORT: String(ports.admin) }),
  );
  onShutdownSignal(async () => {
    console.log('stopping: API processes, then workers, then Temporal, PostgreSQL last…');
    await Promise.all(apiProcesses.map(stopProcess));
    await Promise.all(workers.map(stopProcess));
    await ui.stop();
    await cluster.stop();
  });
  // The URLs are printed once every API answers: an API reads its tokens and endpoints at start,
  // and the server holds those reads until a worker polls.
  await Promise.all(apis.map((p) => untilHealthy(`http://${config.FERRY_ADMIN_HOST}:${p.admin}/health`)));

  console.log(`
Ferry is running on a Temporal cluster (PostgreSQL, ${config.FERRY_CLUSTER_SHARDS} history shards, ${workers.length} workers, ${apis.length} API processes).
${apis.map((p, i) => `  API ${i + 1}      queue and push http://${config.FERRY_HOST}:${p.queue}, admin http://${config.FERRY_ADMIN_HOST}:${p.admin}`).join('\n')}
  Temporal   ${address} (PostgreSQL on ${postgres.host}:${postgres.port}, data in ${root})
  Web UI     ${ui.url}
Any API process serves any namespace: put a load balancer in front of the queue ports, or give clients the list.
Started in ${((Date.now() - started) / 1000).toFixed(1)} s.
`);
}

/** Polls a health URL until it answers 200 (an API process that never does is reported after 2 minutes). */
async function untilHealthy(url: string): Promise<void> {
  for (const deadline = Date.now() + 120_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 250))) {
    const ok = await fetch(url).then((r) => r.ok, () => false);
    if (ok) return;
  }
  throw new Error(`${url} did not answer within 2 minutes`);
}

runMain(main);
