import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { temporalTools } from '../../src/local-temporal/tools';
import { eventually } from '../helpers/eventually';
import type { FerryUnderTest } from '../helpers/ferry';
import { useFerry } from '../helpers/ferry';

/** Recurring jobs through HTTP, on the real Temporal Schedules of a dev server (or the cluster). */
let ferry: FerryUnderTest;
let token: string;
const ns = 'schedtest';

useFerry(async (started) => {
  ferry = started;
  token = await started.token(ns);
});

interface View {
  name: string;
  queue: string;
  paused: boolean;
  note: string;
  runs: number;
  nextRuns: string[];
  recentRuns: { scheduledAt: string; startedAt: string; jobId: string }[];
  job: { bodyBase64: string; ttl: number; tries: number; delay: number };
  [key: string]: unknown;
}

const call = async (method: string, path: string, body?: unknown) => {
  const res = await ferry.queue(`/schedules/${ns}${path}`, {
    method,
    headers: { 'x-token': token, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as View & { error?: string; schedules?: View[] } };
};
const consume = async (queue: string) => {
  const res = await ferry.queue(`/api/${ns}/${queue}?ttr=30&timeout=0`, { headers: { 'x-token': token } });
  return res.status === 200 ? ((await res.json()) as { job_id: string; data: string; ttl: number }) : undefined;
};
const size = async (queue: string) => ((await (await ferry.queue(`/api/${ns}/${queue}/size`)).json()) as { size: number }).size;


test('an interval schedule publishes ordinary jobs; the view names each run and the job it published', async () => {
  const created = await call('POST', '', { name: 'tick', queue: 'ticks', everySeconds: 2, job: { body: 'tick body', ttl: 600, tries: 2 } });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({
    name: 'tick',
    queue: 'ticks',
    everySeconds: 2,
    timezone: 'UTC',
    overlap: 'skip',
    catchupWindowSeconds: 60,
    paused: false,
    job: { bodyBase64: Buffer.from('tick body').toString('base64'), ttl: 600, tries: 2, delay: 0 },
  });
  expect(Date.parse(created.body.nextRuns[0]!)).toBeGreaterThan(Date.now() - 1000);

  await eventually(async () => expect(await size('ticks')).toBeGreaterThanOrEqual(2), 30_000, 250);
  const job = await consume('ticks');
  expect(Buffer.from(job!.data, 'base64').toString()).toBe('tick body');
  const view = (await call('GET', '/tick')).body;
  expect(view.runs).toBeGreaterThanOrEqual(2);
  // The first job published is the first run's.
  expect(view.recentRuns.map((r) => r.jobId)).toContain(job!.job_id);
  expect((await call('DELETE', '/tick')).status).toBe(204);
});

test('pause stops the runs and unpause resumes them; the note is kept', async () => {
  await call('POST', '', { name: 'pausable', queue: 'paused-q', everySeconds: 1, job: { body: 'p' } });
  await eventually(async () => expect((await call('GET', '/pausable')).body.runs).toBeGreaterThanOrEqual(1), 30_000, 250);
  const paused = await call('POST', '/pausable/pause', { note: 'maintenance' });
  expect(paused.body).toMatchObject({ paused: true, note: 'maintenance' });
  await eventually(async () => expect((await call('GET', '/pausable')).body.paused).toBe(true), 10_000, 100);
  const runsWhenPaused = (await call('GET', '/pausable')).body.runs;
  await new Promise((r) => setTimeout(r, 3500));
  expect((await call('GET', '/pausable')).body.runs).toBe(runsWhenPaused);
  // Without a note, one is written: the server takes an empty one for no unpause at all.
  expect((await call('POST', '/pausable/unpause', {})).body).toMatchObject({ paused: false, note: 'unpaused through the API' });
  await eventually(async () => expect((await call('GET', '/pausable')).body.runs).toBeGreaterThan(runsWhenPaused), 30_000, 250);
  expect((await call('DELETE', '/pausable')).status).toBe(204);
});

test('a cron schedule in a time zone: next runs in that zone, a trigger publishes the exact bytes now', async () => {
  const bytes = randomBytes(100);
  const created = await call('POST', '', {
    name: 'new-year',
    queue: 'yearly',
    cron: '0 0 1 1 *',
    timezone: 'Europe/Berlin',
    job: { bodyBase64: bytes.toString('base64'), ttl: 0, delay: 0 },
  });
  expect(created.status).toBe(201);
  // Midnight of 1 January in Berlin is 23:00 UTC on 31 December.
  expect(created.body.nextRuns[0]).toMatch(/^\d{4}-12-31T23:00:00\.000Z$/);
  expect((await call('POST', '/new-year/trigger')).status).toBe(202);
  await eventually(async () => expect(await size('yearly')).toBe(1), 30_000, 250);
  const job = await consume('yearly');
  expect(Buffer.from(job!.data, 'base64').equals(bytes)).toBe(true);
  expect(job!.ttl).toBe(0);
  expect((await call('DELETE', '/new-year')).status).toBe(204);
});

test('listed through HTTP and by `temporal schedule list`; deleted, it is gone and its jobs stay', async () => {
  await call('POST', '', { name: 'listed', queue: 'listed-q', cron: '*/5 * * * *', job: { body: 'l' }, paused: true });
  const names = (await call('GET', '')).body.schedules!.map((s) => s.name);
  expect(names).toEqual([...names].sort());
  expect(names).toContain('listed');
  const cli = execFileSync(
    temporalTools().temporal ?? 'temporal',
    ['schedule', 'list', '--address', ferry.env.connection.options.address, '--namespace', ferry.env.namespace ?? 'default'],
    { encoding: 'utf8' },
  );
  expect(cli).toContain(`schedule/${ns}/listed`);
  expect((await call('DELETE', '/listed')).status).toBe(204);
  expect(await call('GET', '/listed')).toEqual({ status: 404, body: { error: 'schedule not found' } });
  expect((await call('DELETE', '/listed')).status).toBe(404);
});

test('bad definitions are 400s with a message; a taken name 409; no token 401', async () => {
  const base = { name: 'bad', queue: 'q', job: { body: 'x' } };
  const refused = async (body: unknown) => {
    const res = await call('POST', '', body);
    expect(res.status).toBe(400);
    return res.body.error;
  };
  expect(await refused({ ...base })).toBe('give cron or everySeconds, one of them');
  expect(await refused({ ...base, cron: '* * * * *', everySeconds: 5 })).toBe('give cron or everySeconds, one of them');
  expect(await refused({ ...base, cron: 'every tuesday' })).toMatch(/^invalid schedule: /);
  expect(await refused({ ...base, everySeconds: 5, timezone: 'Mars/Olympus' })).toMatch(/unknown time zone/);
  expect(await refused({ ...base, everySeconds: 0 })).toBeDefined();
  expect(await refused({ ...base, everySeconds: 5, job: { body: 'x', ttl: 5, delay: 10 } })).toBe('ttl is shorter than delay');
  expect(await refused({ ...base, name: 'no/slash', everySeconds: 5 })).toMatch(/schedule names/);
  expect(await refused({ ...base, queue: '_q', everySeconds: 5 })).toMatch(/queue name/);
  expect((await call('POST', '', { ...base, everySeconds: 5, job: { body: 'x'.repeat(70_000) } })).status).toBe(413);

  expect((await call('POST', '', { ...base, name: 'taken', everySeconds: 3600 })).status).toBe(201);
  expect(await call('POST', '', { ...base, name: 'taken', everySeconds: 3600 })).toEqual({ status: 409, body: { error: 'schedule exists' } });
  expect((await ferry.queue(`/schedules/${ns}`)).status).toBe(401);
  expect((await call('DELETE', '/taken')).status).toBe(204);
});
