import type { FastifyInstance } from 'fastify';
import type { TokenStore } from '../../../src/temporal/token-store';
import { QuotaExceededError } from '../../../src/temporal/namespaced-registry';
import { appsOver, fake, fakeServices } from '../../helpers/fake-services';

/** The admin routes' validation, basic auth and error mapping over fakes: no Temporal. */
const created: { namespace: string; description: string; token?: string }[] = [];
const tokens = fake<TokenStore>({
  create: async (namespace: string, description: string, token?: string) => {
    if (namespace === 'full') throw new QuotaExceededError('namespace full has 1000 tokens, its quota');
    created.push({ namespace, description, ...(token ? { token } : {}) });
    return token ?? 'minted-token';
  },
  exists: (_namespace: string, token: string) => token === 'taken-token-of-24-chars!',
  list: () => [],
});
let open: FastifyInstance;
let guarded: FastifyInstance;

beforeAll(async () => {
  open = (await appsOver(fakeServices({ tokens }))).admin;
  guarded = (await appsOver(fakeServices({ tokens }, { FERRY_ADMIN_ACCOUNTS: 'ops:s3cret-pass' }))).admin;
});
afterAll(() => Promise.all([open.close(), guarded.close()]));
beforeEach(() => {
  created.length = 0;
});

const post = async (app: FastifyInstance, url: string, headers: Record<string, string> = {}, payload?: string) => {
  const res = await app.inject({ method: 'POST', url, headers, ...(payload === undefined ? {} : { payload }) });
  return { status: res.statusCode, body: res.json<unknown>() };
};

test('a token needs a description, a valid namespace and pool, and a long enough token of its own', async () => {
  expect(await post(open, '/token/ns')).toEqual({ status: 400, body: { error: 'invalid description' } });
  expect(await post(open, '/token/bad.ns?description=x')).toEqual({ status: 400, body: { error: 'namespace name contains forbidden characters' } });
  expect(await post(open, '/token/ns?description=x&pool=other')).toEqual({ status: 400, body: { error: 'the pool was not exists' } });
  expect(await post(open, '/token/ns?description=x&token=short')).toEqual({ status: 400, body: { error: 'the user token was too short' } });
  expect(await post(open, '/token/ns?description=x&token=taken-token-of-24-chars!')).toEqual({ status: 400, body: { error: 'the token has already existed' } });
  expect(await post(open, `/token/ns?description=${'d'.repeat(1025)}`)).toEqual({ status: 400, body: { error: 'the description was too long (at most 1024 characters)' } });
  expect(created).toEqual([]);
  expect(await post(open, '/token/full?description=x')).toEqual({ status: 400, body: { error: 'namespace full has 1000 tokens, its quota' } });
});

test('the description comes from the query or a form; an empty Content-Type is no content type', async () => {
  expect(await post(open, '/token/ns', { 'content-type': 'application/x-www-form-urlencoded' }, 'description=formed')).toEqual({ status: 201, body: { token: 'minted-token' } });
  expect(await post(open, '/token/ns?description=go-client', { 'content-type': '' })).toEqual({ status: 201, body: { token: 'minted-token' } });
  expect(created).toEqual([
    { namespace: 'ns', description: 'formed' },
    { namespace: 'ns', description: 'go-client' },
  ]);
});

test('with accounts configured, tokens, limits and the codec endpoint need basic auth; health, version and metrics do not', async () => {
  // CORS preflights stay open: browsers send them without credentials.
  const guardedRoutes = guarded.servedRoutes.filter((r) => (r.url.startsWith('/token') || r.url === '/limits' || r.url.startsWith('/codec')) && r.method !== 'OPTIONS');
  expect(guardedRoutes.length).toBeGreaterThanOrEqual(9);
  for (const { method, url } of guardedRoutes) {
    const res = await guarded.inject({ method: method as 'GET', url: url.replace(':namespace', 'ns').replace(':token', 't') });
    expect([method, url, res.statusCode]).toEqual([method, url, 401]);
  }
  const basic = `Basic ${Buffer.from('ops:s3cret-pass').toString('base64')}`;
  expect(await post(guarded, '/token/ns?description=x', { authorization: basic })).toEqual({ status: 201, body: { token: 'minted-token' } });
  for (const url of ['/health', '/version', '/metrics']) expect([url, (await guarded.inject({ url })).statusCode]).toEqual([url, 200]);
  const version = (await guarded.inject({ url: '/version' })).json<Record<string, string>>();
  expect(Object.keys(version).sort()).toEqual(['build_commit', 'build_date', 'version']);
});
