import type { FastifyInstance } from 'fastify';
import type { JobScheduleDefinition, JobScheduleView, JobSchedules } from '../../../src/temporal/job-schedules';
import { appsOver, fake, fakeServices, GOOD_TOKEN } from '../../helpers/fake-services';

/** The schedule routes' validation, auth and answers over a fake JobSchedules: no Temporal. */
const auth = { 'x-token': GOOD_TOKEN, 'content-type': 'application/json' };
const created: { namespace: string; definition: JobScheduleDefinition; state: unknown }[] = [];
let app: FastifyInstance;

const viewOf = (definition: JobScheduleDefinition): JobScheduleView => ({
  ...definition,
  paused: false,
  note: '',
  createdAt: Date.UTC(2026, 11, 2),
  runs: 0,
  nextRuns: [Date.UTC(2026, 11, 3)],
  recentRuns: [],
});

beforeAll(async () => {
  const schedules = fake<JobSchedules>({
    create: async (namespace: string, definition: JobScheduleDefinition, state: unknown) => {
      created.push({ namespace, definition, state });
      return viewOf(definition);
    },
  });
  ({ queue: app } = await appsOver(fakeServices({ schedules })));
});
afterAll(() => app.close());
beforeEach(() => {
  created.length = 0;
});

const call = async (method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown, headers: Record<string, string> = auth) => {
  const res = await app.inject({ method, url, headers, ...(body === undefined ? {} : { payload: JSON.stringify(body) }) });
  return { status: res.statusCode, body: res.json<Record<string, unknown>>() };
};

test('every schedule route asks for the namespace token first', async () => {
  const routes = app.servedRoutes.filter((r) => r.url.startsWith('/schedules/'));
  expect(routes.length).toBe(7);
  for (const { method, url } of routes) {
    const res = await call(method as 'GET', url.replace(':namespace', 'ns').replace(':name', 'x'), undefined, {});
    expect([method, url, res.status, res.body]).toEqual([method, url, 401, { error: 'token not found' }]);
  }
});

test('a definition gets its defaults, and the body is stored as base64 either way it was given', async () => {
  const res = await call('POST', '/schedules/ns', { name: 'n.1', queue: 'q', cron: '0 3 * * *', job: { body: 'héllo' } });
  expect(res.status).toBe(201);
  expect(created).toEqual([
    {
      namespace: 'ns',
      definition: { name: 'n.1', queue: 'q', cron: '0 3 * * *', timezone: 'UTC', overlap: 'skip', catchupWindowSeconds: 60, job: { data: Buffer.from('héllo').toString('base64'), ttl: 86400, tries: 1, delay: 0 } },
      state: { paused: false, note: '' },
    },
  ]);
  expect(res.body).toMatchObject({ createdAt: '2026-12-02T00:00:00.000Z', nextRuns: ['2026-12-03T00:00:00.000Z'], job: { bodyBase64: 'aMOpbGxv' } });
  await call('POST', '/schedules/ns', { name: 'b', queue: 'q', everySeconds: 5, job: { bodyBase64: 'AAEC' } });
  expect(created[1]!.definition.job.data).toBe('AAEC');
});

test('bad definitions are 400s before the service is called', async () => {
  const base = { name: 'n', queue: 'q', everySeconds: 5, job: { body: 'x' } };
  const anyMessage: unknown = expect.any(String);
  for (const [body, error] of [
    [{ ...base, everySeconds: undefined }, 'give cron or everySeconds, one of them'],
    [{ ...base, cron: '* * * * *' }, 'give cron or everySeconds, one of them'],
    [{ ...base, timezone: 'Nowhere/Land' }, 'unknown time zone (an IANA name such as Europe/Berlin, or UTC)'],
    [{ ...base, job: { body: 'x', bodyBase64: 'eA==' } }, 'give body or bodyBase64, not both'],
    [{ ...base, job: { body: 'x', ttl: 5, delay: 6 } }, 'ttl is shorter than delay'],
    [{ ...base, job: { body: 'x', tries: 0 } }, anyMessage],
    [{ ...base, overlap: 'sometimes' }, anyMessage],
    [{ ...base, catchupWindowSeconds: 5 }, anyMessage],
    [{ ...base, name: '' }, 'schedule names are 1-64 of A-Z a-z 0-9 - _ .'],
  ] as [unknown, unknown][]) {
    expect(await call('POST', '/schedules/ns', body)).toEqual({ status: 400, body: { error } });
  }
  expect(created).toEqual([]);
});
