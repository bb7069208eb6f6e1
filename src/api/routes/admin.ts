import { timingSafeEqual } from 'node:crypto';
import basicAuth from '@fastify/basic-auth';
import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { TokenRecord } from '../../workflows/tokens.messages';
import { badRequest, conflict, notFound } from '../errors';
import { codecRoutes } from './codec';
import { statusRoutes } from './status';
import { MAX_NAME_LENGTH } from '../params';
import { DEFAULT_POOL, MAX_TOKEN_DESCRIPTION, MIN_USER_TOKEN_LENGTH } from '../../temporal/token-store';

const NAME = /^[-_A-Za-z0-9]+$/;
const limitBody = z.object({
  read: z.number().int().min(0),
  write: z.number().int().min(0),
  interval: z.number().int().min(0),
});

const sameText = (a: string, b: string): boolean => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/** The lmstfy admin API: tokens, per-token limits, info, version, metrics, pools; plus health. */
export const adminRoutes: FastifyPluginAsync = async (fastify) => {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { tokens, config, jobs } = app.ferry;
  const accounts = Object.entries(config.FERRY_ADMIN_ACCOUNTS);

  await app.register(basicAuth, {
    authenticate: { realm: 'Authorization Required' },
    validate: async (user, password) => {
      if (!accounts.some(([u, p]) => sameText(u, user) && sameText(p, password))) throw new Error('unauthorized');
    },
  });
  // lmstfy guards tokens and limits with basic auth only when accounts are configured.
  const guarded = accounts.length > 0 ? { onRequest: app.basicAuth } : {};
  await app.register(codecRoutes, { prefix: '/codec', guard: guarded });

  const namespaceParams = z.object({ namespace: z.string() }).superRefine(({ namespace }, ctx) => {
    if (namespace.length > MAX_NAME_LENGTH) ctx.addIssue({ code: 'custom', message: 'the namespace name was too long' });
    else if (!NAME.test(namespace)) ctx.addIssue({ code: 'custom', message: 'namespace name contains forbidden characters' });
  });
  const tokenParams = z.object({ namespace: z.string(), token: z.string() });
  const poolQuery = z.object({ pool: z.string().optional() }).superRefine(({ pool }, ctx) => {
    if (pool !== undefined && pool !== '' && pool !== DEFAULT_POOL) ctx.addIssue({ code: 'custom', message: 'the pool was not exists' });
  });

  app.post(
    '/token/:namespace',
    {
      ...guarded,
      schema: {
        tags: ['tokens'],
        summary: 'Create a token (lmstfy: description, optional token and pool, in the query or a form)',
        params: namespaceParams,
        querystring: z.object({ description: z.string().optional(), token: z.string().optional(), pool: z.string().optional() }),
        response: { 201: z.object({ token: z.string() }) },
      },
    },
    async (request, reply) => {
      const form = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<string, unknown>;
      const pick = (key: string) => request.query[key as 'token'] ?? (typeof form[key] === 'string' ? (form[key]) : undefined);
      const description = pick('description');
      if (!description) throw badRequest('invalid description');
      if (description.length > MAX_TOKEN_DESCRIPTION) throw badRequest(`the description was too long (at most ${MAX_TOKEN_DESCRIPTION} characters)`);
      let token = pick('token');
      const pool = pick('pool') || DEFAULT_POOL;
      if (token?.includes(':')) {
        const [tokenPool, rest] = token.split(':', 2) as [string, string];
        if (tokenPool !== DEFAULT_POOL) throw badRequest('the pool was not exists');
        token = rest;
      }
      if (pool !== DEFAULT_POOL) throw badRequest('the pool was not exists');
      if (token !== undefined && token.length < MIN_USER_TOKEN_LENGTH) throw badRequest('the user token was too short');
      const { namespace } = request.params;
      if (token !== undefined && tokens.exists(namespace, token)) throw badRequest('the token has already existed');
      return reply.status(201).send({ token: await tokens.create(namespace, description, token) });
    },
  );

  app.get(
    '/token/:namespace',
    {
      ...guarded,
      schema: {
        tags: ['tokens'],
        summary: 'List a namespace\'s tokens',
        params: namespaceParams,
        querystring: poolQuery,
        response: { 200: z.object({ tokens: z.record(z.string(), z.string()).describe('token id -> description; secrets are never stored') }) },
      },
    },
    async (request) => ({
      tokens: Object.fromEntries(tokens.list(request.params.namespace).map((t) => [t.id, t.description])),
    }),
  );

  app.delete('/token/:namespace/:token', { ...guarded, schema: { tags: ['tokens'], summary: 'Delete a token', params: tokenParams } }, async (request, reply) => {
    await tokens.remove(request.params.namespace, request.params.token);
    return reply.status(204).send();
  });

  const findToken = (namespace: string, token: string): TokenRecord => {
    const record = tokens.find(namespace, token);
    if (!record) throw notFound('token not found');
    return record;
  };
  const checkLimit = (limit: z.infer<typeof limitBody>) => {
    if (limit.read === 0 && limit.write === 0) throw badRequest('read and write limits are both 0');
    if (limit.interval === 0) throw badRequest('interval should be > 0');
  };

  app.get('/token/:namespace/:token/limit', { ...guarded, schema: { tags: ['limits'], summary: 'A token\'s rate limit', params: tokenParams, response: { 200: limitBody } } }, async (request) => {
    const { limit } = findToken(request.params.namespace, request.params.token);
    if (!limit) throw notFound('limit not found');
    return limit;
  });

  app.post(
    '/token/:namespace/:token/limit',
    { ...guarded, schema: { tags: ['limits'], summary: 'Give a token a rate limit (409 when it has one)', params: tokenParams, body: limitBody } },
    async (request, reply) => {
      const record = findToken(request.params.namespace, request.params.token);
      checkLimit(request.body);
      if (record.limit) throw conflict('the limit of this token already exists');
      await tokens.setLimit(record, request.body);
      return reply.status(201).send({ limiter: request.body });
    },
  );

  app.put('/token/:namespace/:token/limit', { ...guarded, schema: { tags: ['limits'], summary: 'Set a token\'s rate limit', params: tokenParams, body: limitBody } }, async (request) => {
    const record = findToken(request.params.namespace, request.params.token);
    checkLimit(request.body);
    await tokens.setLimit(record, request.body);
    return { limiter: request.body };
  });

  app.delete('/token/:namespace/:token/limit', { ...guarded, schema: { tags: ['limits'], summary: 'Remove a token\'s rate limit', params: tokenParams } }, async (request) => {
    const record = tokens.find(request.params.namespace, request.params.token);
    if (record?.limit) await tokens.setLimit(record, null);
    return { msg: 'success' };
  });

  const limitsView = z.array(z.object({ namespace: z.string(), token: z.string(), limiter: limitBody }));
  app.get('/limits', { ...guarded, schema: { tags: ['limits'], summary: 'Every token that has a rate limit', response: { 200: limitsView } } }, async () =>
    tokens.all().flatMap((t) => (t.limit ? [{ namespace: t.namespace, token: t.id, limiter: t.limit }] : [])),
  );

  app.get(
    '/info',
    { schema: { tags: ['queues'], summary: 'Every namespace and its queues', response: { 200: z.record(z.string(), z.array(z.string())) } } },
    async () => jobs.listQueues(),
  );
  app.get('/pools', { schema: { tags: ['queues'], summary: 'Pools (Ferry has one)', response: { 200: z.array(z.string()) } } }, async () => [DEFAULT_POOL]);
  await app.register(statusRoutes, { guard: guarded });
};
