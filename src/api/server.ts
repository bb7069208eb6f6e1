import type { Client } from '@temporalio/client';
import type { FastifyRequest } from 'fastify';
import type { DestinationStream, Logger } from 'pino';
import pino from 'pino';
import type { Config } from '../config';
import { endpointQuotas, healthPolicy, indexLimits, retentionPolicy } from '../config';
import { ensureRetentionSchedule } from '../temporal/retention';
import { EndpointDirectory } from '../temporal/endpoint-directory';
import { PushDeadLetters } from '../temporal/push-dead-letters';
import { taskQueuePollers } from '../temporal/task-queue-pollers';
import { PushService } from '../temporal/push-service';
import { JobQueue } from '../temporal/job-queue';
import { FerryPayloadCodec } from '../temporal/payload-codec';
import { JobSchedules } from '../temporal/job-schedules';
import { PublishGate, workflowBacklogAge } from '../temporal/publish-gate';
import type { FerryServices } from './app';
import { buildAdminApp, buildQueueApp } from './app';
import { QueueMetrics } from './metrics';
import { TokenStore } from '../temporal/token-store';
import { RateLimiter } from './rate-limiter';

export interface RunningApi {
  queueUrl: string;
  adminUrl: string;
  services: FerryServices;
  close(): Promise<void>;
}

/**
 * Request logs without secrets: lmstfy clients may send their token as `?token=`, and Fastify's
 * default request log line carries the whole URL.
 */
const requestSerializer = (req: FastifyRequest) => ({
  method: req.method,
  url: withoutToken(req.url),
  host: req.host,
  remoteAddress: req.ip,
  remotePort: req.socket?.remotePort,
});

/** The URL with the value of every `token` parameter redacted, however its name is spelt (`%74oken`). */
function withoutToken(url: string): string {
  const at = url.indexOf('?');
  if (at < 0) return url;
  const decoded = (raw: string) => {
    try {
      return decodeURIComponent(raw.replace(/\+/g, ' '));
    } catch {
      return raw;
    }
  };
  const query = url
    .slice(at + 1)
    .split('&')
    .map((pair) => {
      const name = pair.split('=', 1)[0]!;
      return decoded(name).toLowerCase() === 'token' ? `${name}=[redacted]` : pair;
    });
  return `${url.slice(0, at)}?${query.join('&')}`;
}

/** The API's logger: pino at `level`, request lines without tokens. */
export const createApiLogger = (level: string, destination?: DestinationStream): Logger =>
  pino({ level, serializers: { req: requestSerializer } }, destination);

/** Builds the services on a Temporal client and listens with both servers. */
export async function startApi(config: Config, client: Client, logger?: Logger): Promise<RunningApi> {
  const log = logger ?? createApiLogger(config.FERRY_LOG_LEVEL);
  const gate = new PublishGate(workflowBacklogAge(client, config.FERRY_TASK_QUEUE), config.FERRY_PUBLISH_MAX_BACKLOG_S);
  const publishTimeoutMs = config.FERRY_PUBLISH_TIMEOUT_MS;
  const retention = retentionPolicy(config);
  await ensureRetentionSchedule(client, config.FERRY_TASK_QUEUE);
  const jobs = new JobQueue(client, config.FERRY_TASK_QUEUE, {
    onBackgroundError: (err) => log.warn({ err }, 'waiting for jobs failed'),
    publishTimeoutMs,
    gate,
    indexLimits: indexLimits(config),
    retention,
  });
  const tokens = new TokenStore(
    client,
    config.FERRY_TASK_QUEUE,
    config.FERRY_TOKEN_REFRESH_MS,
    (err) => log.warn({ err }, 'token refresh failed'),
    config.FERRY_MAX_TOKENS_PER_NAMESPACE,
  );
  await tokens.start();
  const endpoints = new EndpointDirectory(client, {
    taskQueue: config.FERRY_TASK_QUEUE,
    policy: healthPolicy(config),
    quotas: endpointQuotas(config),
    refreshMs: config.FERRY_ENDPOINT_REFRESH_MS,
    onRefreshError: (err) => log.warn({ err }, 'endpoint refresh failed'),
  });
  await endpoints.start();
  const pushes = new PushService(client, config.FERRY_TASK_QUEUE, endpoints, { publishTimeoutMs, gate, retention });
  const pushDeadLetters = new PushDeadLetters(client, config.FERRY_TASK_QUEUE);
  const metrics = new QueueMetrics();
  metrics.collectQueueSizes(() => jobs.sizes());
  metrics.collectDeadDeliveries(() => pushDeadLetters.sizes(endpoints.all()));
  const codec = client.options.loadedDataConverter.payloadCodecs.find((c) => c instanceof FerryPayloadCodec);
  if (codec) metrics.collectCodecWork(codec.work);
  const services: FerryServices = {
    config,
    jobs,
    tokens,
    limiter: new RateLimiter(),
    metrics,
    endpoints,
    pushes,
    pushDeadLetters,
    schedules: new JobSchedules(client, config.FERRY_TASK_QUEUE),
    pollers: () => taskQueuePollers(client, config.FERRY_TASK_QUEUE),
    payloadCodecs: client.options.loadedDataConverter.payloadCodecs,
  };
  const queueApp = await buildQueueApp(services, log);
  const adminApp = await buildAdminApp(services, log);
  const queueUrl = await queueApp.listen({ host: config.FERRY_HOST, port: config.FERRY_API_PORT });
  const adminUrl = await adminApp.listen({ host: config.FERRY_ADMIN_HOST, port: config.FERRY_ADMIN_PORT });
  return {
    queueUrl,
    adminUrl,
    services,
    async close() {
      await Promise.all([tokens.stop(), endpoints.stop()]);
      // Long polls end first (answering "no job"), so closing the servers does not wait for them.
      await jobs.close();
      await Promise.all([queueApp.close(), adminApp.close()]);
    },
  };
}
