import { ServiceError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import type { JobQueue } from '../../../src/temporal/job-queue';
import type { PublishRequest } from '../../../src/temporal/job-publisher';
import { UnknownCodecKeyError } from '../../../src/temporal/payload-codec';
import { OverloadedError } from '../../../src/temporal/publish-gate';
import type { JobView } from '../../../src/workflows/job.messages';
import type { TokenStore } from '../../../src/temporal/token-store';
import { TokensNotLoadedError } from '../../../src/temporal/token-store';
import { appsOver, fake, fakeServices, GOOD_TOKEN, verifyToken } from '../../helpers/fake-services';

/** The queue routes' validation, auth and error mapping over fakes: no Temporal. */
const ns = 'unit';
const auth = { 'x-token': GOOD_TOKEN };
const job = (jobId: string): JobView => ({
  namespace: ns,
  queue: 'q',
  jobId,
  data: Buffer.from('body').toString('base64'),
  publishedAt: Date.now() - 1000,
  expiresAt: null,
  remainTries: 1,
  state: 'working',
});

let app: FastifyInstance;
const published: PublishRequest[] = [];
let consumeAnswer: () => Promise<JobView[]>;

beforeAll(async () => {
  const jobs = fake<JobQueue>({
    publish: async (request: PublishRequest) => {
      published.push(request);
      if (request.queue === 'overloaded') throw new OverloadedError(12, 5);
      if (request.queue === 'down') throw new ServiceError('start failed', { cause: Object.assign(new Error('14'), { code: 14, details: '', metadata: {} }) });
      return { jobIds: request.bodies.map((_, i) => `job${i}`), replayed: false };
    },
    consume: async () => consumeAnswer(),
    size: async () => 3,
  });
  ({ queue: app } = await appsOver(fakeServices({ jobs })));
});
afterAll(() => app.close());
beforeEach(() => {
  published.length = 0;
  consumeAnswer = async () => [];
});

const inject = async (method: 'GET' | 'PUT' | 'POST' | 'DELETE', url: string, headers: Record<string, string> = auth, payload?: string) => {
  const res = await app.inject({ method, url, headers, ...(payload === undefined ? {} : { payload }) });
  return { status: res.statusCode, body: res.json<unknown>(), headers: res.headers };
};

test('every queue route asks for a token, except the two that lmstfy leaves open', async () => {
  const routes = app.servedRoutes.filter((r) => r.url.startsWith('/api/'));
  expect(routes.length).toBeGreaterThanOrEqual(10);
  for (const { method, url, access } of routes) {
    const path = url.replace(':namespace', ns).replace(':queue', 'q').replace(':job_id', 'j1');
    const res = await inject(method as 'GET', path, {});
    if (access === 'none') expect([method, url, res.status]).not.toEqual([method, url, 401]);
    else expect([method, url, res.status, res.body]).toEqual([method, url, 401, { error: 'token not found' }]);
    const wrong = await inject(method as 'GET', path, { 'x-token': 'wrong' });
    if (access !== 'none') expect([method, url, wrong.status, wrong.body]).toEqual([method, url, 401, { error: 'invalid token' }]);
  }
});

test('names are checked before the token, in lmstfy words', async () => {
  expect(await inject('PUT', `/api/bad.ns/q`, {}, 'x')).toMatchObject({ status: 400, body: { error: 'namespace name contains forbidden characters' } });
  expect(await inject('PUT', `/api/${ns}/_q`, {}, 'x')).toMatchObject({ status: 400, body: { error: 'queue name contains forbidden characters' } });
  expect(await inject('GET', `/api/${ns}/${Array.from({ length: 17 }, (_, i) => `q${i}`).join(',')}`)).toMatchObject({ status: 400, body: { error: 'too many queues, cannot exceed 16' } });
  expect(published).toEqual([]);
});

test('publish parameters are validated before anything is published', async () => {
  for (const [query, error] of [
    ['ttl=-1', 'invalid ttl'],
    ['delay=x', 'invalid delay'],
    ['tries=0', "tries shouldn't be zero"],
    ['tries=65536', 'invalid tries'],
    ['ttl=5&delay=10', 'ttl is shorter than delay'],
  ]) {
    expect(await inject('PUT', `/api/${ns}/q?${query}`, auth, 'x')).toMatchObject({ status: 400, body: { error } });
  }
  expect(published).toEqual([]);
  expect(await inject('PUT', `/api/${ns}/q?ttl=60&delay=1&tries=3`, auth, 'hello')).toMatchObject({ status: 201, body: { msg: 'published', job_id: 'job0' } });
  expect(published).toMatchObject([{ namespace: ns, queue: 'q', ttl: 60, delay: 1, tries: 3, bodies: [Buffer.from('hello')] }]);
});

test('bulk publish: an array of objects, at most 64', async () => {
  expect(await inject('PUT', `/api/${ns}/q/bulk`, auth, '{"a":1}')).toMatchObject({ status: 400, body: { error: 'request body should be an array of objects' } });
  expect(await inject('PUT', `/api/${ns}/q/bulk`, auth, '[]')).toMatchObject({ status: 400, body: { error: 'no jobs' } });
  expect(await inject('PUT', `/api/${ns}/q/bulk`, auth, JSON.stringify(Array(65).fill({})))).toMatchObject({ status: 400, body: { error: 'too many jobs' } });
  expect(await inject('PUT', `/api/${ns}/q/bulk`, auth, '[{"a":1},{"b":2}]')).toMatchObject({ status: 201, body: { msg: 'published', job_ids: ['job0', 'job1'] } });
});

test('consume parameters, an empty queue, and a job no worker can read', async () => {
  expect(await inject('GET', `/api/${ns}/q?count=0`)).toMatchObject({ status: 400, body: { error: 'invalid count' } });
  expect(await inject('GET', `/api/${ns}/q?freeze_tries=maybe`)).toMatchObject({ status: 400 });
  expect(await inject('GET', `/api/${ns}/q?timeout=0`)).toMatchObject({ status: 404, body: { msg: 'no job available' } });
  consumeAnswer = async () => [job('j1')];
  expect(await inject('GET', `/api/${ns}/q?timeout=0`)).toMatchObject({ status: 200, body: { msg: 'new job', job_id: 'j1', data: Buffer.from('body').toString('base64') } });
  consumeAnswer = async () => Promise.reject(new UnknownCodecKeyError('k1', 'job j9'));
  expect(await inject('GET', `/api/${ns}/q?timeout=0`)).toMatchObject({
    status: 500,
    body: { error: 'job j9 is encrypted with key "k1", which is not among FERRY_CODEC_KEYS', code: 'CODEC_KEY_UNKNOWN' },
  });
});

test("Temporal's refusals map to 503s with Retry-After, never a 500", async () => {
  const overloaded = await inject('PUT', `/api/${ns}/overloaded`, auth, 'x');
  expect([overloaded.status, overloaded.headers['retry-after'], overloaded.body]).toEqual([503, '5', { error: 'temporal is behind (workflow tasks wait 12 s for a worker), retry later' }]);
  const down = await inject('PUT', `/api/${ns}/down`, auth, 'x');
  expect([down.status, down.headers['retry-after'], down.body]).toEqual([503, '1', { error: 'temporal unavailable, retry later' }]);
});

test('a token over its rate limit gets a 429 in lmstfy words', async () => {
  const jobs = fake<JobQueue>({ publish: async () => ({ jobIds: ['j'], replayed: false }) });
  const limited = await appsOver(fakeServices({ jobs, tokens: fake<TokenStore>({ verify: verifyToken({ read: 0, write: 1, interval: 60 }) }) }));
  const first = await limited.queue.inject({ method: 'PUT', url: `/api/${ns}/q`, headers: auth, payload: 'x' });
  const second = await limited.queue.inject({ method: 'PUT', url: `/api/${ns}/q`, headers: auth, payload: 'x' });
  expect([first.statusCode, second.statusCode, second.json()]).toEqual([201, 429, { msg: 'token(tok) produce reach the limit rate, please retry later' }]);
  await Promise.all([limited.queue.close(), limited.admin.close()]);
});

test('before the tokens are read, every call is a 503 to retry shortly', async () => {
  const cold = await appsOver(fakeServices({ tokens: fake<TokenStore>({ verify: async () => Promise.reject(new TokensNotLoadedError()) }) }));
  const res = await cold.queue.inject({ method: 'GET', url: `/api/${ns}/q`, headers: auth });
  expect([res.statusCode, res.headers['retry-after'], res.json()]).toEqual([503, '1', { error: 'tokens not loaded yet, retry later' }]);
  await Promise.all([cold.queue.close(), cold.admin.close()]);
});
