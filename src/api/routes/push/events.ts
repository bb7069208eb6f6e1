import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { PushEvent } from '../../../workflows/push.messages';
import type { PublishRequest } from '../../../temporal/push-service';
import { badRequest, conflict, notFound, payloadTooLarge } from '../../errors';
import type { PublishBody } from '../../push-schemas';
import {
  countView,
  eventListQuery,
  eventListView,
  eventParams,
  eventView,
  namespaceParams,
  publishBatchBody,
  publishBody,
  publishedBatchView,
  publishedView,
  repushEventBody,
  traceView,
} from '../../push-schemas';
import { errorResponse } from '../../params';

import {
  eventOf,
  iso,
  ms,
  newId,
  tags,
} from './views';

/** Events under /push/:namespace/events: publish (one or a batch), list, read, trace, re-push. */
export const eventRoutes: FastifyPluginAsync = async (fastify) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { pushes, pushDeadLetters, config, metrics } = app.ferry;

  const maxEvent = config.FERRY_PUSH_MAX_EVENT_BYTES;
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

  /** The publish as the push service takes it: the event, its targets, and its times in ms. */
  const toRequest = (body: PublishBody, now = Date.now()): PublishRequest => {
    const deliverAt = body.deliverAt !== undefined ? ms(body.deliverAt)! : body.delay ? now + body.delay * 1000 : null;
    const expiresAt = body.expiresAt !== undefined ? ms(body.expiresAt)! : body.ttl ? now + body.ttl * 1000 : null;
    if (expiresAt !== null && expiresAt <= Math.max(now, deliverAt ?? 0)) throw badRequest('the event would expire before its deliveries may start');
    return { event: toEvent(body), endpoints: body.endpoints, orderingKey: body.orderingKey, deliverAt, expiresAt };
  };

  app.post(
    '/push/:namespace/events',
    { bodyLimit: maxEvent * 2, schema: { tags, params: namespaceParams, body: publishBody, response: { 202: publishedView, 400: errorResponse } } },
    async (request, reply) => {
      const { namespace } = request.params;
      const published = await pushes.publish(namespace, toRequest(request.body));
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
        const publish = toRequest(body);
        pushes.targets.for(namespace, publish.event, body.endpoints);
        return publish;
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
      return { count: await pushDeadLetters.applyToEvent(namespace, id, 'repush', { endpoints: request.body.endpoints }) };
    },
  );
};
