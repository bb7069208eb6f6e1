import { TestWorkflowEnvironment } from '@temporalio/testing';
import { connectClient, connectWorker } from '../../src/temporal/connect';
import { devServerDynamicConfigArgs } from '../../src/local-temporal/dynamic-config';
import { addSearchAttributes, devServerSearchAttributeArgs } from '../../src/temporal/search-attributes';
import { temporalTools as tools } from '../../src/local-temporal/tools';
import { testDataConverter } from './codec';
import { installTestRuntime } from './runtime';

/** What an integration suite needs of a Temporal server: a dev server it owns, or the cluster `npm run test:cluster` shares. */
export type TemporalEnv = Pick<TestWorkflowEnvironment, 'client' | 'connection' | 'nativeConnection' | 'namespace' | 'teardown'>;

/** `npm run test:unit` promises no Temporal server: a suite that asks for one there is misfiled. */
function refuseInUnitRun(): void {
  if (process.env.FERRY_UNIT) throw new Error('a test:unit suite asked for a Temporal server; it belongs outside test/unit');
}

/** Set by `npm run test:cluster`'s global set-up: the frontend of the PostgreSQL cluster every suite shares. */
export const CLUSTER_ADDRESS = process.env.FERRY_TEST_CLUSTER_ADDRESS;

/**
 * A suite's task queue. On the shared cluster every suite uses one: the registry catalogs have
 * fixed workflow ids, so the first suite's task queue is theirs for the whole run, and a suite on
 * another queue would find nobody polling it once that suite's workers are gone.
 */
export const testTaskQueue = (own: string): string => (CLUSTER_ADDRESS ? 'ferry-test-cluster' : own);

/**
 * The Java time-skipping test server with Ferry's search attributes; falls back to the SDK's
 * download where internet exists.
 */
export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  refuseInUnitRun();
  installTestRuntime();
  const path = tools().testServer;
  const env = await TestWorkflowEnvironment.createTimeSkipping(
    { client: { dataConverter: testDataConverter }, ...(path ? { server: { executable: { type: 'existing-path', path } } } : {}) },
  );
  await addSearchAttributes(env.connection, env.namespace ?? 'default');
  return env;
}

/**
 * A real Temporal with Ferry's search attributes, on loopback: a `temporal server start-dev` of
 * the suite's own, or under `npm run test:cluster` connections to the shared PostgreSQL cluster
 * (which teardown closes, leaving the cluster running).
 */
export async function createTemporalEnv(): Promise<TemporalEnv> {
  refuseInUnitRun();
  installTestRuntime();
  if (CLUSTER_ADDRESS) {
    const namespace = 'default';
    // As the API and worker processes connect in production.
    const { client, connection } = await connectClient(CLUSTER_ADDRESS, namespace, testDataConverter);
    const nativeConnection = await connectWorker(CLUSTER_ADDRESS);
    return {
      client,
      connection,
      nativeConnection,
      namespace,
      async teardown() {
        await nativeConnection.close();
        await connection.close();
      },
    };
  }
  const path = tools().temporal;
  return TestWorkflowEnvironment.createLocal({
    client: { dataConverter: testDataConverter },
    server: {
      ip: '127.0.0.1',
      ...(path ? { executable: { type: 'existing-path', path } } : {}),
      extraArgs: ['--headless', ...devServerSearchAttributeArgs(), ...devServerDynamicConfigArgs()],
    },
  });
}
