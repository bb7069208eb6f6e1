import type { FastifyInstance } from 'fastify';
import { EndpointsNotLoadedError, UnknownEndpointError } from '../../../src/push/targets';
import type { EndpointDirectory } from '../../../src/temporal/endpoint-directory';
import type { PublishRequest, PushService } from '../../../src/temporal/push-service';
import { appsOver, fake, fakeServices, GOOD_TOKEN } from '../../helpers/fake-services';

/** The push routes' validation, auth and error mapping over fakes: no Temporal. */
const auth = { 'x-token': GOOD_TOKEN, 'content-type': 'application/json' };
const publishes: PublishRequest[] = [];
let app: FastifyInstance;

beforeAll(async () => {
  const pushes = fake<PushService>({
    publish: async (namespace: string, request: PublishRequest) => {
      if (request.event.type === 'cold.start') throw new EndpointsNotLoadedError();
      if (request.endpoints?.includes('nobody')) throw new UnknownEndpointError(['nobody']);
      publishes.push(request);
      return { id: request.event.id, endpoints: ['crm'], replayed: false };
    },
  });
  const endpoints = fake<EndpointDirectory>({ get: () => undefined, eventType: () => undefined });
  ({ queue: app } = await appsOver(fakeServices({ pushes, endpoints })));
});
afterAll(() => app.close());
beforeEach(() => {
  publishes.length = 0;
});

const call = async (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown, headers: Record<string, string> = auth) => {
  const res = await app.inject({ method, url, headers, ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }) });
  return { status: res.statusCode, body: res.json<unknown>(), headers: res.headers };
};

test('every push route asks for the namespace token first', async () => {
  const routes = app.servedRoutes.filter((r) => r.url.startsWith('/push/'));
  expect(routes.length).toBeGreaterThanOrEqual(20);
  for (const { method, url } of routes) {
    const path = url.replace(':namespace', 'ns').replace(':id', 'x').replace(':name', 'x');
    const res = await call(method as 'GET', path, undefined, {});
    expect([method, url, res.status, res.body]).toEqual([method, url, 401, { error: 'token not found' }]);
  }
});

test('bodies are JSON, validated by their schemas before any service is called', async () => {
  expect(await call('POST', '/push/ns/events', 'type=x', { ...auth, 'content-type': 'text/plain' })).toMatchObject({
    status: 415,
    body: { error: 'push requests take JSON bodies (content-type: application/json)' },
  });
  expect(await call('POST', '/push/ns/events', '{"type":')).toMatchObject({ status: 400 });
  expect(await call('POST', '/push/ns/events', { type: 'not a type!' })).toMatchObject({
    status: 400,
    body: { error: 'event types are dot-separated words of A-Z a-z 0-9 - _' },
  });
  expect(await call('POST', '/push/ns/endpoints', { id: 'crm' })).toMatchObject({ status: 400 });
  expect(await call('POST', '/push/bad.ns/events', { type: 'order.created' })).toMatchObject({ status: 400 });
  expect(publishes).toEqual([]);
  expect(await call('POST', '/push/ns/events', { id: 'evt-1', type: 'order.created', data: { n: 1 } })).toMatchObject({ status: 202, body: { id: 'evt-1', endpoints: ['crm'] } });
  expect(publishes).toMatchObject([{ event: { id: 'evt-1', type: 'order.created', data: { n: 1 } } }]);
});

test("the services' refusals: an unknown endpoint is the caller's 400, registries not read yet a 503", async () => {
  expect(await call('POST', '/push/ns/events', { type: 'order.created', endpoints: ['nobody'] })).toMatchObject({ status: 400, body: { error: 'unknown endpoint: nobody' } });
  const cold = await call('POST', '/push/ns/events', { type: 'cold.start' });
  expect([cold.status, cold.headers['retry-after'], cold.body]).toEqual([503, '1', { error: 'endpoints not loaded yet, retry later' }]);
  expect(await call('GET', '/push/ns/endpoints/none')).toMatchObject({ status: 404, body: { error: 'endpoint not found' } });
});
