import type { FastifyInstance } from 'fastify';
import { appsOver, fakeServices } from '../../helpers/fake-services';

type OpenApi = { paths: Record<string, Record<string, unknown>>; components?: { securitySchemes?: Record<string, unknown> } };

let apps: { queue: FastifyInstance; admin: FastifyInstance };
let guardedAdmin: FastifyInstance;

beforeAll(async () => {
  apps = await appsOver(fakeServices());
  guardedAdmin = (await appsOver(fakeServices({}, { FERRY_ADMIN_ACCOUNTS: 'ops:secret' }))).admin;
});
afterAll(async () => {
  await Promise.all([apps.queue.close(), apps.admin.close(), guardedAdmin.close()]);
});

/** Fastify's `/a/:b` as OpenAPI writes it, `/a/{b}`. */
const openApiPath = (url: string) => url.replace(/:([A-Za-z_]+)/g, '{$1}');
/** What the document leaves out on purpose: itself, Swagger UI's pages, and the codec's CORS preflight. */
const undocumented = ({ method, url }: { method: string; url: string }) =>
  url === '/openapi.json' || url === '/docs' || url.startsWith('/docs/') || method === 'OPTIONS';

describe.each(['queue', 'admin'] as const)('the %s port', (port) => {
  test('documents every route it serves, each method under its path', async () => {
    const app = apps[port];
    const doc = (await app.inject('/openapi.json')).json<OpenApi>();
    const served = app.servedRoutes.filter((r) => !undocumented(r));
    expect(served.length).toBeGreaterThan(port === 'queue' ? 30 : 15);
    const missing = served.filter((r) => doc.paths[openApiPath(r.url)]?.[r.method.toLowerCase()] === undefined);
    expect(missing).toEqual([]);
  });

  test('serves Swagger UI at /docs over that document', async () => {
    const app = apps[port];
    const page = await app.inject('/docs/');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toContain('swagger-ui');
    const initializer = await app.inject('/docs/static/swagger-initializer.js');
    expect(initializer.statusCode).toBe(200);
    const docJson = await app.inject('/docs/json');
    expect(Object.keys(docJson.json<OpenApi>().paths)).toEqual(Object.keys((await app.inject('/openapi.json')).json<OpenApi>().paths));
  });
});

test('the admin document names basic auth only when admin accounts are set', async () => {
  expect((await apps.admin.inject('/openapi.json')).json<OpenApi>().components?.securitySchemes ?? {}).toEqual({});
  expect((await guardedAdmin.inject('/openapi.json')).json<OpenApi>().components?.securitySchemes).toEqual({ basic: { type: 'http', scheme: 'basic' } });
  // The docs themselves stay open: they hold no data.
  expect((await guardedAdmin.inject('/docs/')).statusCode).toBe(200);
  expect((await guardedAdmin.inject('/status')).statusCode).toBe(401);
});

test('the queue document names the token header and bearer', async () => {
  const schemes = (await apps.queue.inject('/openapi.json')).json<OpenApi>().components?.securitySchemes;
  expect(Object.keys(schemes ?? {}).sort()).toEqual(['bearer', 'token']);
});
