import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { guardNamespace } from '../namespace-guard';
import { deadLetterRoutes } from './dead-letter';
import { endpointRoutes } from './endpoints';
import { eventTypeRoutes } from './event-types';
import { eventRoutes } from './events';

/** Webhook push under /push/:namespace: one plugin per resource, behind one token check and JSON body parser. */
export const pushRoutes: FastifyPluginAsync = async (fastify) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  guardNamespace(app, 'push');
  await app.register(endpointRoutes);
  await app.register(eventTypeRoutes);
  await app.register(eventRoutes);
  await app.register(deadLetterRoutes);
};
