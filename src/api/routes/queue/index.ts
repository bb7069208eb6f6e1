import type { FastifyPluginAsync } from 'fastify';
import type { TokenRecord } from '../../../workflows/tokens.messages';
import { badRequest, notFound, tooManyRequests, unauthorized } from '../../errors';
import { nameProblem, queueListProblem } from '../../params';
import { deadLetterRoutes } from './dead-letter';
import { jobRoutes } from './jobs';
import { publishRoutes } from './publish';

declare module 'fastify' {
  interface FastifyRequest {
    /** The token whose rate limit this request was counted against. */
    charged?: TokenRecord;
  }
  interface FastifyContextConfig {
    /** What the route charges against a token's rate limit; 'none' skips the token check too. */
    access?: 'read' | 'write' | 'token' | 'none';
    /** Consume takes a comma-separated list of queues. */
    queueList?: boolean;
  }
}

/**
 * The lmstfy queue API under /api: one plugin per resource (publishing, jobs and queues, the dead
 * letter) behind one name check, token check and rate limit.
 */
export const queueRoutes: FastifyPluginAsync = async (app) => {
  const { tokens, limiter } = app.ferry;
  app.decorateRequest('charged', undefined);

  // Names first, then the token, in lmstfy's order; before the body is read or the query validated,
  // so a request without a valid token costs no body parsing.
  app.addHook('onRequest', async (request) => {
    const { namespace, queue } = request.params as { namespace: string; queue: string };
    const problem = request.routeOptions.config.queueList
      ? queueListProblem(namespace, queue)
      : nameProblem(namespace, queue);
    if (problem) throw badRequest(problem);
    const access = request.routeOptions.config.access ?? 'token';
    if (access === 'none') return;
    const header = request.headers['x-token'];
    const fromQuery = (request.query as { token?: unknown }).token;
    const raw = typeof header === 'string' && header !== '' ? header : typeof fromQuery === 'string' ? fromQuery : undefined;
    const check = await tokens.verify(namespace, raw);
    if (!check.ok) throw check.error === 'pool not found' ? notFound(check.error) : unauthorized(check.error);
    if (access === 'token') return;
    if (!limiter.acquire(check.record, access)) {
      const verb = access === 'read' ? 'consume' : 'produce';
      throw tooManyRequests(`token(${check.record.id}) ${verb} reach the limit rate, please retry later`);
    }
    request.charged = check.record;
  });

  // Only successful calls count against the limit, as in lmstfy.
  app.addHook('onResponse', async (request, reply) => {
    const access = request.routeOptions.config.access;
    if (!request.charged || (access !== 'read' && access !== 'write')) return;
    if (reply.statusCode !== (access === 'read' ? 200 : 201)) limiter.refund(request.charged, access);
  });

  await app.register(publishRoutes);
  await app.register(jobRoutes);
  await app.register(deadLetterRoutes);
};
