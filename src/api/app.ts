import type { PayloadCodec } from '@temporalio/common';
import Fastify from 'fastify';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import fastifyPlugin from 'fastify-plugin';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { monotonicFactory } from 'ulid';
import type { Config } from '../config';
import type { EndpointDirectory } from '../temporal/endpoint-directory';
import type { JobQueue } from '../temporal/job-queue';
import type { PushDeadLetters } from '../temporal/push-dead-letters';
import type { JobSchedules } from '../temporal/job-schedules';
import type { PushService } from '../temporal/push-service';
import { registerDocs } from './docs';
import { registerErrorHandler } from './errors';
import type { QueueMetrics } from './metrics';
import { adminRoutes } from './routes/admin';
import { scheduleRoutes } from './routes/schedules';
import { pushRoutes } from './routes/push';
import { queueRoutes } from './routes/queue';
import type { TaskQueuePollers } from '../temporal/task-queue-pollers';
import type { TokenStore } from '../temporal/token-store';
import type { RateLimiter } from './rate-limiter';

/** What every route needs; built once per process and shared by both servers. */
export interface FerryServices {
  config: Config;
  jobs: JobQueue;
  tokens: TokenStore;
  limiter: RateLimiter;
  metrics: QueueMetrics;
  endpoints: EndpointDirectory;
  pushes: PushService;
  pushDeadLetters: PushDeadLetters;
  schedules: JobSchedules;
  /** Who polls Ferry's task queues, for the status route. */
  pollers: () => Promise<TaskQueuePollers[]>;
  /** The client's payload codecs, which the codec endpoint applies for the Web UI and the CLI. */
  payloadCodecs: PayloadCodec[];
}

/** A route an app serves, as registered. */
export interface ServedRoute {
  method: string;
  url: string;
  /** The queue routes' rate-limit class ('none': no token at all). */
  access?: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    ferry: FerryServices;
    /** Every route this app serves: for the tests that go over all of them. */
    servedRoutes: ServedRoute[];
  }
}

const newRequestId = monotonicFactory();

/** The parts both servers share: services, request ids, zod validation, one error handler. */
function baseApp(services: FerryServices, logger: FastifyBaseLogger): FastifyInstance {
  const app = Fastify({
    loggerInstance: logger,
    genReqId: () => newRequestId(),
    // Names may be 255 characters and consume takes a list of them; Fastify's default stops at 100.
    routerOptions: { maxParamLength: 64 * 1024 },
    // A request must arrive whole (headers and body) within this; a client trickling its body is cut
    // off with a 408. Node stops this clock once the request is received, so long polls are unaffected.
    requestTimeout: services.config.FERRY_REQUEST_TIMEOUT_MS,
    http: { headersTimeout: Math.min(10_000, services.config.FERRY_REQUEST_TIMEOUT_MS), connectionsCheckingInterval: 1000 },
    // Fastify answers HEAD by running the GET handler, and a consume is a GET that takes a job.
    exposeHeadRoutes: false,
  });
  const served: ServedRoute[] = [];
  app.decorate('servedRoutes', served);
  app.addHook('onRoute', (route) => {
    const access = (route.config as { access?: string } | undefined)?.access;
    for (const method of [route.method].flat()) served.push({ method, url: route.url, ...(access ? { access } : {}) });
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  void app.register(
    fastifyPlugin(async (instance) => {
      instance.decorate('ferry', services);
    }),
  );
  app.addHook('onRequest', async (request, reply) => {
    void reply.header('X-Request-ID', request.id);
    // Go's http.Post(url, "", nil), as lmstfy's clients send it, says `Content-Type:` with nothing
    // after it; lmstfy reads that as no content type, and so does Ferry (Fastify would answer 415).
    if (request.headers['content-type'] === '') delete request.headers['content-type'];
  });
  registerErrorHandler(app);
  return app;
}

/** The lmstfy queue API and the push API (port 7777 by default). */
export async function buildQueueApp(services: FerryServices, logger: FastifyBaseLogger): Promise<FastifyInstance> {
  const app = baseApp(services, logger);
  // Job bodies are opaque bytes whatever their content type, so every body arrives as a Buffer.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  await registerDocs(app, 'Ferry: job queue (lmstfy-compatible) and webhook push', {
    token: { type: 'apiKey', in: 'header', name: 'X-Token' },
    bearer: { type: 'http', scheme: 'bearer' },
  });
  await app.register(queueRoutes);
  await app.register(pushRoutes);
  await app.register(scheduleRoutes);
  app.setNotFoundHandler(async (_request, reply) => reply.status(404).send({ error: 'api not found' }));
  return app;
}

/** The admin API (port 7778 by default). */
export async function buildAdminApp(services: FerryServices, logger: FastifyBaseLogger): Promise<FastifyInstance> {
  const app = baseApp(services, logger);
  // lmstfy reads token descriptions from the query or from a form.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) =>
    done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );
  await registerDocs(
    app,
    'Ferry: admin API (tokens, limits, status, metrics, codec)',
    Object.keys(services.config.FERRY_ADMIN_ACCOUNTS).length > 0 ? { basic: { type: 'http', scheme: 'basic' } } : {},
  );
  await app.register(adminRoutes);
  app.setNotFoundHandler(async (_request, reply) => reply.status(404).send({ error: 'api not found' }));
  return app;
}
