import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { monotonicFactory } from 'ulid';
import { z } from 'zod';
import { createSecret, publicKeyOf, schemeOf } from '../../push/signing';
import type { Endpoint, EventTypeDefinition } from '../../workflows/endpoints.messages';
import { newEndpoint } from '../../workflows/endpoints';
import type { AttemptRecord, DeadLetterFilter, PushEvent, PushView } from '../../workflows/push.messages';
import { badRequest, conflict, notFound, payloadTooLarge, tooManyRequests, unauthorized, unsupportedMediaType } from '../errors';
import type { AttemptView, PublishBody } from '../push-schemas';
import {
  bulkView,
  countView,
  createdEndpointView,
  createEndpointBody,
  deadLetterBulkBody,
  deadLetterQuery,
  deadLetterView,
  DEFAULT_SETTINGS,
  disableBody,
  enableBody,
  enabledView,
  endpointListView,
  endpointParams,
  endpointSettings,
  endpointView,
  eventListQuery,
  eventListView,
  eventParams,
  eventTypeBody,
  eventTypeListView,
  eventTypeParams,
  eventTypeUpdateBody,
  eventTypeView,
  eventView,
  namespaceParams,
  publishBatchBody,
  publishBody,
  publishedBatchView,
  publishedView,
  repushEventBody,
  rotatedView,
  rotateSecretBody,
  toEndpointView,
  traceView,
} from '../push-schemas';
import { boundedJson } from '../json-body';
import { errorResponse } from '../params';

const newId = monotonicFactory();
const iso = (ms: number) => new Date(ms).toISOString();
const ms = (value: string | undefined) => (value === undefined ? undefined : Date.parse(value));
const tags = ['push'];

/** The token of the namespace, as the queue API takes it: X-Token, `Authorization: Bearer`, or ?token=. */
function presentedToken(request: FastifyRequest): string | undefined {
  const header = request.headers['x-token'];
  if (typeof header === 'string' && header !== '') return header;
  const authorization = request.headers.authorization;
  if (authorization?.startsWith('Bearer ')) return authorization.slice('Bearer '.length);
  const fromQuery = (request.query as { token?: unknown } | undefined)?.token;
  return typeof fromQuery === 'string' ? fromQuery : undefined;
}

const attemptView = (a: AttemptRecord): AttemptView => ({
  attempt: a.attempt,
  at: iso(a.startedAt),
  durationMs: a.durationMs,
  status: a.status ?? null,
  error: a.error ?? null,
  outcome: a.outcome,
  responseExcerpt: a.responseExcerpt,
});

const eventOf = (view: PushView) => ({
  id: view.event.id,
  type: view.event.type,
  status: view.status,
  event: { ...view.event },
  orderingKey: view.orderingKey,
  deliveries: view.deliveries.map((d) => ({
    endpointId: d.endpointId,
    status: d.status,
    attempts: d.attempts.map(attemptView),
    pausedUntil: d.pausedUntil === null ? null : iso(d.pausedUntil),
    deadLetter: d.dead ? { reason: d.dead.reason, held: d.dead.held, at: iso(d.dead.at) } : null,
  })),
});

/** Webhook push under /push/:namespace: endpoints, events, traces and the dead letter. */
export const pushRoutes: FastifyPluginAsync = async (fastify) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { tokens, limiter, endpoints, pushes, config, metrics } = app.ferry;
  const maxEvent = config.FERRY_PUSH_MAX_EVENT_BYTES;

  // Push bodies are JSON (the queue API around this plugin takes raw bytes).
  app.addContentTypeParser('application/json', { parseAs: 'string' }, boundedJson(app.getDefaultJsonParser('error', 'error')));
  app.decorateRequest('charged', undefined);

  // Before the body is read: a request without a valid token costs no parsing. Reads are charged
  // to the token's read limit, everything else to its write limit, as the queue API does.
  app.addHook('onRequest', async (request) => {
    const { namespace } = request.params as { namespace: string };
    const check = await tokens.verify(namespace, presentedToken(request));
    if (!check.ok) throw check.error === 'pool not found' ? notFound(check.error) : unauthorized(check.error);
    const access = request.method === 'GET' ? 'read' : 'write';
    if (!limiter.acquire(check.record, access)) throw tooManyRequests(`token(${check.record.id}) ${access} reach the limit rate, please retry later`);
    request.charged = check.record;
  });
  // Only calls that succeeded count, as on the queue API.
  app.addHook('onResponse', async (request, reply) => {
    if (request.charged && reply.statusCode >= 400) limiter.refund(request.charged, request.method === 'GET' ? 'read' : 'write');
  });

  app.addHook('preValidation', async (request) => {
    // Bytes or text here means the JSON parser did not run: another content type was sent.
    if (typeof request.body === 'string' || Buffer.isBuffer(request.body)) {
      throw unsupportedMediaType('push requests take JSON bodies (content-type: application/json)');
    }
    // An action without a body (`POST …/enable`) means its defaults (Fastify would validate null).
    if (request.method !== 'GET') request.body ??= {};
  });

  const findEndpoint = (namespace: string, id: string): Endpoint => {
    const endpoint = endpoints.get(namespace, id);
    if (!endpoint) throw notFound('endpoint not found');
    return endpoint;
  };

  const toEvent = (body: PublishBody): PushEvent => {
    const event: PushEvent = {
      id: body.id ?? `msg_${newId()}`,
      type: body.type,
      timestamp: body.timestamp ?? new Date().toISOString(),
      source: body.source ?? null,
      correlationId: body.correlationId ?? null,
      data: body.data ?? null,
      metadata: body.metadata ?? null,
    };
    if (Buffer.byteLength(JSON.stringify(event)) >= maxEvent) throw payloadTooLarge(`an event must be smaller than ${maxEvent} bytes`);
    return event;
  };

  // Endpoints.

  app.post(
    '/push/:namespace/endpoints',
    { schema: { tags, params: namespaceParams, body: createEndpointBody, response: { 201: createdEndpointView, 400: errorResponse } } },
    async (request, reply) => {
      const { namespace } = request.params;
      const { id, secret, signatureScheme, ...settings } = request.body;
      const endpointId = id ?? `ep_${newId().toLowerCase()}`;
      if (endpoints.get(namespace, endpointId)) throw conflict('endpoint exists');
      const key = secret ?? createSecret(signatureScheme);
      const endpoint = newEndpoint({ namespace, id: endpointId }, { ...DEFAULT_SETTINGS, ...settings }, key, Date.now());
      await pushes.ensureDeadLetterWorkflow(namespace);
      await endpoints.put(endpoint);
      // The only time the secret is shown.
      return reply.status(201).send({ ...toEndpointView(endpoint), secret: key, publicKey: publicKeyOf(key) });
    },
  );

  app.get(
    '/push/:namespace/endpoints',
    { schema: { tags, params: namespaceParams, response: { 200: endpointListView } } },
    async (request) => ({ endpoints: endpoints.list(request.params.namespace).map((e) => toEndpointView(e)) }),
  );

  app.get(
    '/push/:namespace/endpoints/:id',
    { schema: { tags, params: endpointParams, response: { 200: endpointView, 404: errorResponse } } },
    async (request) => toEndpointView(findEndpoint(request.params.namespace, request.params.id)),
  );

  app.patch(
    '/push/:namespace/endpoints/:id',
    { schema: { tags, params: endpointParams, body: endpointSettings, response: { 200: endpointView, 404: errorResponse } } },
    async (request) => {
      const current = findEndpoint(request.params.namespace, request.params.id);
      const endpoint: Endpoint = { ...current, ...request.body, updatedAt: Date.now() };
      await endpoints.put(endpoint);
      return toEndpointView(endpoint);
    },
  );

  app.delete(
    '/push/:namespace/endpoints/:id',
    { schema: { tags, params: endpointParams, response: { 204: z.null(), 404: errorResponse } } },
    async (request, reply) => {
      findEndpoint(request.params.namespace, request.params.id);
      await endpoints.remove({ namespace: request.params.namespace, id: request.params.id });
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/push/:namespace/endpoints/:id/disable',
    { schema: { tags, params: endpointParams, body: disableBody, response: { 200: endpointView, 404: errorResponse } } },
    async (request) => {
      const { namespace, id } = request.params;
      findEndpoint(namespace, id);
      const endpoint = await endpoints.setEnabled({ namespace, id }, false, request.body.reason ?? 'disabled by a user');
      return toEndpointView(endpoint ?? findEndpoint(namespace, id));
    },
  );

  app.post(
    '/push/:namespace/endpoints/:id/enable',
    {
      schema: {
        tags,
        params: endpointParams,
        body: enableBody,
        response: { 200: enabledView, 404: errorResponse },
      },
    },
    async (request) => {
      const { namespace, id } = request.params;
      findEndpoint(namespace, id);
      const endpoint = await endpoints.setEnabled({ namespace, id }, true, null);
      const replayed = request.body.replayHeld ? await pushes.applyToDeadLetters(namespace, 'repush', { endpoint: id, heldOnly: true }) : 0;
      return { endpoint: toEndpointView(endpoint ?? findEndpoint(namespace, id)), replayed };
    },
  );

  app.post(
    '/push/:namespace/endpoints/:id/rotate-secret',
    { schema: { tags, params: endpointParams, body: rotateSecretBody, response: { 200: rotatedView, 404: errorResponse } } },
    async (request) => {
      const { namespace, id } = request.params;
      const current = findEndpoint(namespace, id);
      const now = Date.now();
      const secret = request.body.secret ?? createSecret(request.body.signatureScheme ?? schemeOf(current.keys[0]!.secret));
      const overlapUntil = now + request.body.overlapSeconds * 1000;
      // Old keys sign until the overlap ends (or their own earlier end); the new one from now on.
      const old = current.keys
        .filter((k) => k.expiresAt === undefined || k.expiresAt > now)
        .map((k) => ({ secret: k.secret, expiresAt: Math.min(k.expiresAt ?? Infinity, overlapUntil) }))
        .filter((k) => k.expiresAt > now);
      await endpoints.put({ ...current, keys: [{ secret }, ...old], updatedAt: now });
      return { secret, publicKey: publicKeyOf(secret), previousSecretsExpireAt: iso(overlapUntil) };
    },
  );

  // Event types: an optional catalog; a publish of a registered type is checked against its schema.

  const eventTypeOf = (t: EventTypeDefinition) => ({ name: t.name, description: t.description, schema: t.schema, createdAt: iso(t.createdAt), updatedAt: iso(t.updatedAt) });
  const findEventType = (namespace: string, name: string): EventTypeDefinition => {
    const found = endpoints.eventType(namespace, name);
    if (!found) throw notFound('event type not found');
    return found;
  };

  app.post(
    '/push/:namespace/event-types',
    { schema: { tags, params: namespaceParams, body: eventTypeBody, response: { 201: eventTypeView, 400: errorResponse, 409: errorResponse } } },
    async (request, reply) => {
      const { namespace } = request.params;
      const { name, description, schema } = request.body;
      if (endpoints.eventType(namespace, name)) throw conflict('event type exists');
      if (schema) pushes.schemas.check(schema);
      const now = Date.now();
      const created: EventTypeDefinition = { namespace, name, description, schema, createdAt: now, updatedAt: now };
      await endpoints.putEventType(created);
      return reply.status(201).send(eventTypeOf(created));
    },
  );

  app.get(
    '/push/:namespace/event-types',
    { schema: { tags, params: namespaceParams, response: { 200: eventTypeListView } } },
    async (request) => ({ eventTypes: endpoints.eventTypes(request.params.namespace).map(eventTypeOf) }),
  );

  app.get(
    '/push/:namespace/event-types/:name',
    { schema: { tags, params: eventTypeParams, response: { 200: eventTypeView, 404: errorResponse } } },
    async (request) => eventTypeOf(findEventType(request.params.namespace, request.params.name)),
  );

  app.patch(
    '/push/:namespace/event-types/:name',
    { schema: { tags, params: eventTypeParams, body: eventTypeUpdateBody, response: { 200: eventTypeView, 400: errorResponse, 404: errorResponse } } },
    async (request) => {
      const current = findEventType(request.params.namespace, request.params.name);
      if (request.body.schema) pushes.schemas.check(request.body.schema);
      // updatedAt also versions the compiled schema, so it must move even within a millisecond.
      const updated: EventTypeDefinition = { ...current, ...request.body, updatedAt: Math.max(Date.now(), current.updatedAt + 1) };
      await endpoints.putEventType(updated);
      return eventTypeOf(updated);
    },
  );

  app.delete(
    '/push/:namespace/event-types/:name',
    { schema: { tags, params: eventTypeParams, response: { 204: z.null(), 404: errorResponse } } },
    async (request, reply) => {
      findEventType(request.params.namespace, request.params.name);
      await endpoints.removeEventType({ namespace: request.params.namespace, name: request.params.name });
      return reply.status(204).send(null);
    },
  );

  // Events.

  app.post(
    '/push/:namespace/events',
    { bodyLimit: maxEvent * 2, schema: { tags, params: namespaceParams, body: publishBody, response: { 202: publishedView, 400: errorResponse } } },
    async (request, reply) => {
      const { namespace } = request.params;
      const published = await pushes.publish(namespace, {
        event: toEvent(request.body),
        endpoints: request.body.endpoints,
        orderingKey: request.body.orderingKey,
      });
      if (published.replayed) void reply.header('Idempotent-Replayed', 'true');
      else metrics.eventsPublished(namespace, 1);
      return reply.status(202).send(published);
    },
  );

  app.post(
    '/push/:namespace/events/batch',
    {
      bodyLimit: 8 * 1024 * 1024,
      schema: { tags, params: namespaceParams, body: publishBatchBody, response: { 202: publishedBatchView, 400: errorResponse } },
    },
    async (request, reply) => {
      const { namespace } = request.params;
      // Every event is checked before any is started, so a bad batch starts nothing.
      const prepared = request.body.events.map((body) => {
        const event = toEvent(body);
        pushes.targetsFor(namespace, event, body.endpoints);
        return { event, endpoints: body.endpoints, orderingKey: body.orderingKey };
      });
      const ids = prepared.map((p) => p.event.id);
      if (new Set(ids).size !== ids.length) throw badRequest('event ids in a batch must differ');
      // In order, so ordering keys see the batch order.
      const events = await pushes.publishAll(namespace, prepared);
      metrics.eventsPublished(namespace, events.filter((e) => !e.replayed).length);
      return reply.status(202).send({ events });
    },
  );

  app.get(
    '/push/:namespace/events',
    { schema: { tags, params: namespaceParams, querystring: eventListQuery, response: { 200: eventListView } } },
    async (request) => {
      const { type, status, since, until, limit } = request.query;
      const events = await pushes.list(request.params.namespace, { type, status, since: ms(since), until: ms(until), limit });
      return { events: events.map((e) => ({ ...e, createdAt: iso(e.createdAt) })) };
    },
  );

  app.get(
    '/push/:namespace/events/:id',
    { schema: { tags, params: eventParams, response: { 200: eventView, 404: errorResponse } } },
    async (request) => {
      const view = await pushes.get(request.params.namespace, request.params.id);
      if (!view) throw notFound('event not found');
      return eventOf(view);
    },
  );

  app.get(
    '/push/:namespace/events/:id/trace',
    { schema: { tags, params: eventParams, response: { 200: traceView, 404: errorResponse } } },
    async (request) => {
      const trace = await pushes.trace(request.params.namespace, request.params.id);
      if (!trace) throw notFound('event not found');
      return {
        id: request.params.id,
        attempts: trace.map((t) => ({ ...t, at: iso(t.at) })),
      };
    },
  );

  app.post(
    '/push/:namespace/events/:id/repush',
    { schema: { tags, params: eventParams, body: repushEventBody, response: { 200: countView, 404: errorResponse, 409: errorResponse } } },
    async (request) => {
      const { namespace, id } = request.params;
      const view = await pushes.get(namespace, id);
      if (!view) throw notFound('event not found');
      if (!view.deliveries.some((d) => d.dead)) throw conflict('no delivery of this event is in the dead letter');
      return { count: await pushes.applyToEvent(namespace, id, 'repush', { endpoints: request.body.endpoints }) };
    },
  );

  // Dead letter.

  const filterOf = (q: { endpoint?: string; type?: string; since?: string; until?: string; heldOnly?: boolean; limit?: number }): DeadLetterFilter => ({
    endpoint: q.endpoint,
    type: q.type,
    since: ms(q.since),
    until: ms(q.until),
    heldOnly: q.heldOnly,
    limit: q.limit,
  });

  app.get(
    '/push/:namespace/deadletter',
    { schema: { tags, params: namespaceParams, querystring: deadLetterQuery, response: { 200: deadLetterView } } },
    async (request) => {
      const { held, ...query } = request.query;
      const entries = await pushes.deadLetters(request.params.namespace, filterOf({ ...query, heldOnly: held }));
      return { deliveries: entries.map((e) => ({ ...e, failedAt: iso(e.failedAt) })) };
    },
  );

  for (const [path, action] of [['repush', 'repush'], ['delete', 'discard']] as const) {
    app.post(
      `/push/:namespace/deadletter/${path}`,
      { schema: { tags, params: namespaceParams, body: deadLetterBulkBody, response: { 200: bulkView } } },
      async (request) => {
        const { namespace } = request.params;
        const filter = filterOf(request.body);
        const count = request.body.dryRun
          ? await pushes.countDeadLetters(namespace, filter)
          : await pushes.applyToDeadLetters(namespace, action, filter);
        return { count, dryRun: request.body.dryRun };
      },
    );
  }

  app.delete(
    '/push/:namespace/deadletter/:id',
    { schema: { tags, params: eventParams, body: repushEventBody, response: { 200: countView, 404: errorResponse } } },
    async (request) => {
      const { namespace, id } = request.params;
      if (!(await pushes.get(namespace, id))) throw notFound('event not found');
      return { count: await pushes.applyToEvent(namespace, id, 'discard', { endpoints: request.body.endpoints }) };
    },
  );
};
