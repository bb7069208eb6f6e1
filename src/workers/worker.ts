import type { Client } from '@temporalio/client';
import type { NativeConnection, State } from '@temporalio/worker';
import { bundleWorkflowCode, Runtime, Worker } from '@temporalio/worker';
import { Agent } from 'undici';
import { createActivities } from '../activities';
import { createPushActivities } from '../activities/push';
import type { Config } from '../config';
import { endpointQuotas, healthPolicy, indexLimits, loadConfig, retentionPolicy } from '../config';
import { AddressPolicy } from '../push/ssrf';
import { EndpointDirectory } from '../temporal/endpoint-directory';
import { JobPublisher } from '../temporal/job-publisher';
import { PushDeadLetters } from '../temporal/push-dead-letters';
import { PushService } from '../temporal/push-service';
import type { Endpoint } from '../workflows/endpoints.messages';
import { indexTaskQueue, rateLimitedTaskQueue } from '../workflows/ids';

export interface FerryWorkerOptions {
  connection: NativeConnection;
  /** Used by activities that signal or start workflows. */
  client: Client;
  namespace: string;
  taskQueue: string;
  /** Push settings (SSRF allow-list, circuit breaker, Retry-After cap); the defaults when absent. */
  config?: Config;
}

/** In-flight deliveries get this long to finish on shutdown (the default endpoint timeout is 30 s). */
const SHUTDOWN_GRACE = '40s';

/**
 * Runs every Ferry workflow and activity: one SDK worker polls the jobs' task queue, another the
 * index task queue, so index workflows keep their own pollers and cache however many jobs wait.
 * Rate-limited endpoints get an activity worker each, on a task queue whose dispatch rate Temporal
 * caps for all workers together.
 */
export class FerryWorker {
  private readonly limited = new Map<string, { rate: number; worker: Promise<Worker>; running: Promise<void> }>();
  private following: Promise<void> = Promise.resolve();
  private stopping = false;

  private constructor(
    private readonly workers: Worker[],
    private readonly directory: EndpointDirectory,
    private readonly dispatcher: Agent,
    private readonly makeLimitedWorker: (taskQueue: string, rate: number) => Promise<Worker>,
    private readonly taskQueue: string,
    private readonly onError: (err: unknown) => void,
  ) {}

  static async create({ connection, client, namespace, taskQueue, config = loadConfig({}) }: FerryWorkerOptions): Promise<FerryWorker> {
    // The client's codec: what the API writes, the worker reads, and the other way round.
    const { dataConverter } = client.options;
    const workflowBundle = await bundleWorkflowCode({
      workflowsPath: require.resolve('../workflows'),
      failureConverterPath: dataConverter?.failureConverterPath,
      logger: quietBundler,
    });
    const directory = new EndpointDirectory(client, {
      taskQueue,
      policy: healthPolicy(config),
      quotas: endpointQuotas(config),
      refreshMs: config.FERRY_ENDPOINT_REFRESH_MS,
      onRefreshError: () => undefined,
    });
    const retention = retentionPolicy(config);
    const dispatcher = new Agent({ connect: new AddressPolicy(config.FERRY_PUSH_ALLOW_CIDRS).connector(), keepAliveTimeout: 30_000 });
    const push = createPushActivities({
      client,
      directory,
      deadLetters: new PushDeadLetters(client, taskQueue),
      taskQueue,
      dispatcher,
      maxRetryAfterMs: config.FERRY_PUSH_MAX_RETRY_AFTER_S * 1000,
      // Without a gate: while Temporal is behind, a delivery's retries wait instead.
      publisher: new JobPublisher(client, taskQueue, { taskQueue, limits: indexLimits(config) }, 10_000, undefined, (ns) => retention.deadJobsMs(ns)),
      maxJobBytes: config.FERRY_MAX_JOB_BYTES,
      pushes: new PushService(client, taskQueue, directory, { retention }),
    });
    const activities = { ...createActivities({ client, taskQueue, indexLimits: indexLimits(config), retention }), ...push };
    const workers = await Promise.all(
      [taskQueue, indexTaskQueue(taskQueue)].map((queue) =>
        Worker.create({ connection, namespace, taskQueue: queue, workflowBundle, activities, dataConverter, shutdownGraceTime: SHUTDOWN_GRACE }),
      ),
    );
    const makeLimitedWorker = (queue: string, rate: number) =>
      Worker.create({
        connection,
        namespace,
        dataConverter,
        taskQueue: queue,
        activities: { deliverToEndpoint: push.deliverToEndpoint },
        maxTaskQueueActivitiesPerSecond: rate,
        maxActivitiesPerSecond: rate,
        maxConcurrentActivityTaskPolls: 2,
        shutdownGraceTime: SHUTDOWN_GRACE,
      });
    const onError = (err: unknown) => console.error('rate-limited delivery worker failed', err);
    return new FerryWorker(workers, directory, dispatcher, makeLimitedWorker, taskQueue, onError);
  }

  /** Resolves when every worker has stopped. */
  async run(): Promise<void> {
    const running = Promise.all(this.workers.map((w) => w.run()));
    // The registry answers queries only once a worker polls the index task queue.
    await this.directory.start();
    this.directory.onChange((endpoints) => this.followRateLimits(endpoints));
    await running;
    this.stopping = true;
    this.followRateLimits([]);
    await this.following;
    await Promise.all([...this.limited.values()].map((l) => l.running));
    await this.directory.stop();
    await this.dispatcher.close();
  }

  /** One activity worker per rate-limited endpoint, at its rate; changes replace the worker. */
  private followRateLimits(endpoints: Endpoint[]): void {
    const wanted = new Map(
      endpoints.filter((e) => e.rateLimit).map((e) => [rateLimitedTaskQueue(this.taskQueue, e.namespace, e.id), e.rateLimit!]),
    );
    this.following = this.following.then(async () => {
      for (const [queue, current] of this.limited) {
        if (wanted.get(queue) === current.rate && !this.stopping) continue;
        this.limited.delete(queue);
        const worker = await current.worker;
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await current.running;
      }
      if (this.stopping) return;
      for (const [queue, rate] of wanted) {
        if (this.limited.has(queue)) continue;
        const worker = this.makeLimitedWorker(queue, rate);
        this.limited.set(queue, { rate, worker, running: worker.then((w) => w.run()).catch(this.onError) });
        await worker;
      }
    });
  }

  /**
   * Starts a graceful shutdown: no new tasks, in-flight activities finish. The SDK already does this
   * itself on SIGINT/SIGTERM, so a worker that is not running any more is left alone.
   */
  shutdown(): void {
    for (const worker of this.workers) if (worker.getState() === 'RUNNING') worker.shutdown();
  }

  getState(): State {
    return this.workers[0]!.getState();
  }
}

/**
 * Installs the worker runtime once per process, with a Prometheus endpoint for the metrics job
 * workflows emit. Must run before the first worker or connection is created.
 */
export function installWorkerRuntime(host: string, metricsPort: number): void {
  Runtime.install({
    telemetryOptions: { metrics: { prometheus: { bindAddress: `${host}:${metricsPort}`, countersTotalSuffix: true, unitSuffix: true } } },
  });
}

/** The bundler logs every module at INFO; only its warnings matter. */
const quietBundler = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string, meta?: Record<string, unknown>) => console.warn(message, meta ?? ''),
  error: (message: string, meta?: Record<string, unknown>) => console.error(message, meta ?? ''),
};
