import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { createSecret, publicKeyOf, schemeOf } from '../../../push/signing';
import type { Endpoint } from '../../../workflows/endpoints.messages';
import { newEndpoint } from '../../../workflows/endpoints.messages';
import { conflict, notFound } from '../../errors';
import {
  createdEndpointView,
  createEndpointBody,
  DEFAULT_SETTINGS,
  disableBody,
  enableBody,
  enabledView,
  endpointListView,
  endpointParams,
  endpointSettings,
  endpointView,
  namespaceParams,
  rotatedView,
  rotateSecretBody,
  toEndpointView,
} from '../../push-schemas';
import { errorResponse } from '../../params';
import { iso, newId, tags } from './views';

/** Webhook endpoints under /push/:namespace/endpoints: create, read, change, enable and disable, rotate secrets. */
export const endpointRoutes: FastifyPluginAsync = async (fastify) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { endpoints, pushDeadLetters } = app.ferry;

  const findEndpoint = (namespace: string, id: string): Endpoint => {
    const endpoint = endpoints.get(namespace, id);
    if (!endpoint) throw notFound('endpoint not found');
    return endpoint;
  };

  app.post(
    '/push/:namespace/endpoints',
    { schema: { tags, params: namespaceParams, body: createEndpointBody, response: { 201: createdEndpointView, 400: errorResponse } } },
    async (request, reply) => {
      const { namespace } = request.params;
      const { id, secret, signatureScheme, ...settings } = request.body;
      const endpointId = id ?? `ep_${newId().toLowerCase()}`;
      if (endpoints.get(namespace, endpointId)) throw conflict('endpoint exists');
      const key = secret ?? createSecret(signatureScheme);
      const endpoint = newEndpoint({ namespace, id: endpointId }, { ...DEFAULT_SETTINGS, url: null, ...settings }, key, Date.now());
      await pushDeadLetters.ensureWorkflow(namespace);
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
      const { url, queue, retrySchedule } = request.body;
      const endpoint: Endpoint = {
        ...current,
        // A new destination replaces the other kind; a schedule replaces a backoff.
        ...(url !== undefined ? { queue: null } : {}),
        ...(queue !== undefined ? { url: null } : {}),
        ...(retrySchedule !== undefined ? { backoff: null } : {}),
        ...request.body,
        updatedAt: Date.now(),
      };
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
      const replayed = request.body.replayHeld ? await pushDeadLetters.apply(namespace, 'repush', { endpoint: id, heldOnly: true }) : 0;
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
};
