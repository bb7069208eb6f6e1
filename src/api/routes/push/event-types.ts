import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { EventTypeDefinition } from '../../../workflows/endpoints.messages';
import { conflict, notFound } from '../../errors';
import {
  eventTypeBody,
  eventTypeListView,
  eventTypeParams,
  eventTypeUpdateBody,
  eventTypeView,
  namespaceParams,
} from '../../push-schemas';
import { errorResponse } from '../../params';
import { iso, tags } from './views';

/** The optional catalog of event types under /push/:namespace/event-types; a publish of a registered type is checked against its schema. */
export const eventTypeRoutes: FastifyPluginAsync = async (fastify) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { endpoints, pushes } = app.ferry;

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
};
