import { TestWorkflowEnvironment } from '@temporalio/testing';
import { addSearchAttributes, DEV_SERVER_DYNAMIC_CONFIG, devServerSearchAttributeArgs } from '../../src/temporal/search-attributes';
import { temporalTools as tools } from '../../src/temporal/tools';
import { installTestRuntime } from './runtime';

/**
 * The Java time-skipping test server with Ferry's search attributes; falls back to the SDK's
 * download where internet exists.
 */
export async function createTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  installTestRuntime();
  const path = tools().testServer;
  const env = await TestWorkflowEnvironment.createTimeSkipping(
    path ? { server: { executable: { type: 'existing-path', path } } } : undefined,
  );
  await addSearchAttributes(env.connection, env.namespace ?? 'default');
  return env;
}

/** A real `temporal server start-dev` with Ferry's search attributes, on loopback. */
export function createDevServerEnv(): Promise<TestWorkflowEnvironment> {
  installTestRuntime();
  const path = tools().temporal;
  return TestWorkflowEnvironment.createLocal({
    server: {
      ip: '127.0.0.1',
      ...(path ? { executable: { type: 'existing-path', path } } : {}),
      extraArgs: ['--headless', ...devServerSearchAttributeArgs(), ...DEV_SERVER_DYNAMIC_CONFIG],
    },
  });
}
