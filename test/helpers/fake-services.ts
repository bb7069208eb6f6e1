import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import type { FerryServices } from '../../src/api/app';
import { buildAdminApp, buildQueueApp } from '../../src/api/app';
import { QueueMetrics } from '../../src/api/metrics';
import type { TokenCheck } from '../../src/temporal/token-store';
import type { TokenStore } from '../../src/temporal/token-store';
import { RateLimiter } from '../../src/api/rate-limiter';
import { loadConfig } from '../../src/config';
import type { TokenRecord } from '../../src/workflows/tokens.messages';

/**
 * A service whose methods are the ones a test gives; any other call fails loudly (and the route
 * answers 500), so a test cannot pass by a path it did not mean to take.
 */
export function fake<T extends object>(methods: Partial<Record<keyof T, unknown>> = {}): T {
  return new Proxy(methods, {
    get: (target, name) => {
      if (name in target) return target[name as keyof T];
      if (name === 'then') return undefined;
      return () => {
        throw new Error(`${String(name)} is not faked in this test`);
      };
    },
  }) as T;
}

/** The token every fake token store accepts, in every namespace. */
export const GOOD_TOKEN = 'good-token-of-some-length';

export const tokenRecord = (namespace: string, limit?: TokenRecord['limit']): TokenRecord => ({
  namespace,
  id: 'tok',
  hash: 'h',
  description: 'test',
  createdAt: 0,
  ...(limit ? { limit } : {}),
});

/** lmstfy's three answers: no token, a wrong one, the good one. */
export const verifyToken = (limit?: TokenRecord['limit']) => async (namespace: string, raw: string | undefined): Promise<TokenCheck> =>
  raw === undefined ? { ok: false, error: 'token not found' } : raw === GOOD_TOKEN ? { ok: true, record: tokenRecord(namespace, limit) } : { ok: false, error: 'invalid token' };

/** FerryServices of fakes: a real configuration, rate limiter and metrics, and what the test gives. */
export function fakeServices(given: Partial<FerryServices> = {}, env: Record<string, string> = {}): FerryServices {
  return {
    config: loadConfig({ FERRY_API_PORT: '0', FERRY_ADMIN_PORT: '0', ...env }),
    jobs: fake(),
    tokens: fake<TokenStore>({ verify: verifyToken() }),
    limiter: new RateLimiter(),
    metrics: new QueueMetrics(),
    endpoints: fake(),
    pushes: fake(),
    pushDeadLetters: fake(),
    schedules: fake(),
    pollers: async () => [],
    payloadCodecs: [],
    ...given,
  };
}

const silent = pino({ level: 'silent' });

/** Both apps over the services, for `app.inject`; closed after each test file by the caller. */
export async function appsOver(services: FerryServices): Promise<{ queue: FastifyInstance; admin: FastifyInstance }> {
  return { queue: await buildQueueApp(services, silent), admin: await buildAdminApp(services, silent) };
}
