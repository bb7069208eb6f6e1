import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { DeadLetterFilter } from '../../../workflows/push.messages';
import { destinationOf } from '../../../push/destination';
import { notFound } from '../../errors';
import {
  bulkView,
  countView,
  deadLetterBulkBody,
  deadLetterQuery,
  deadLetterView,
  eventParams,
  namespaceParams,
  repushEventBody,
} from '../../push-schemas';
import { errorResponse } from '../../params';
import { iso, ms, tags } from './views';

/** The push dead letter under /push/:namespace/deadletter: list, bulk re-push or delete (with a dry run), drop one event's deliveries. */
export const deadLetterRoutes: FastifyPluginAsync = async (fastify) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { pushes, pushDeadLetters, endpoints } = app.ferry;

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
      const entries = await pushDeadLetters.list(request.params.namespace, filterOf({ ...query, heldOnly: held }));
      const { namespace } = request.params;
      return { deliveries: entries.map((e) => ({ ...e, ...destinationOf(endpoints.get(namespace, e.endpointId)), failedAt: iso(e.failedAt) })) };
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
          ? await pushDeadLetters.count(namespace, filter)
          : await pushDeadLetters.apply(namespace, action, filter);
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
      return { count: await pushDeadLetters.applyToEvent(namespace, id, 'discard', { endpoints: request.body.endpoints }) };
    },
  );
};
