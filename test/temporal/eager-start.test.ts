import { Client } from '@temporalio/client';
import type { WorkflowClientInterceptor } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { JobQueue } from '../../src/temporal/job-queue';
import { FerryWorker } from '../../src/workers/worker';
import { createDevServerEnv } from '../helpers/temporal';

const taskQueue = 'eager-start-test';
let env: TestWorkflowEnvironment;
let worker: FerryWorker;
let running: Promise<void>;

beforeAll(async () => {
  env = await createDevServerEnv();
  worker = await FerryWorker.create({ connection: env.nativeConnection, client: env.client, namespace: 'default', taskQueue });
  running = worker.run();
}, 120_000);

afterAll(async () => {
  worker.shutdown();
  await running;
  await env.teardown();
});

/** A JobQueue on `connection` that records, per job workflow start, whether the server started it eagerly. */
function recordingQueue(connection: Client['connection']) {
  const eagerly: boolean[] = [];
  const recordStart: WorkflowClientInterceptor = {
    async startWithDetails(input, next) {
      const output = await next(input);
      if (input.workflowType === 'JobWorkflow') eagerly.push(output.eagerlyStarted);
      return output;
    },
  };
  const client = new Client({ connection, namespace: 'default', interceptors: { workflow: [recordStart] } });
  return { jobs: new JobQueue(client, taskQueue), eagerly };
}

const publish = (jobs: JobQueue, queue: string) =>
  jobs.publish({ namespace: 'n', queue, bodies: [Buffer.from('a'), Buffer.from('b')], delay: 0, ttl: 0, tries: 1 });

describe('eager workflow start', () => {
  test("on the worker's connection, a job's first workflow task comes back with its start", async () => {
    const { jobs, eagerly } = recordingQueue(env.nativeConnection);
    const { jobIds } = await publish(jobs, 'eager');
    expect(eagerly).toEqual([true, true]);
    const consumed = await jobs.consume({ namespace: 'n', queues: ['eager'], ttr: 30, timeout: 5, count: 2, freezeTries: false });
    expect(consumed.map((j) => j.jobId)).toEqual(jobIds);
  });

  test('a client on its own connection publishes without asking for it (the SDK would refuse)', async () => {
    const { jobs, eagerly } = recordingQueue(env.connection);
    const { jobIds } = await publish(jobs, 'lazy');
    expect(eagerly).toEqual([false, false]);
    const consumed = await jobs.consume({ namespace: 'n', queues: ['lazy'], ttr: 30, timeout: 5, count: 2, freezeTries: false });
    expect(consumed.map((j) => j.jobId)).toEqual(jobIds);
  });
});
