import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Webhook } from 'standardwebhooks';
import type { z } from 'zod';
import type { deadLetterView, endpointView, eventListView, eventView, rotatedView, traceView } from '../../src/api/push-schemas';
import { temporalTools } from '../../src/local-temporal/tools';
import { retentionScheduleId } from '../../src/workflows/ids';
import type { FerryUnderTest } from '../helpers/ferry';
import { useFerry } from '../helpers/ferry';
import { eventually } from '../helpers/eventually';
import { Receiver } from '../helpers/receiver';
import { verifiesV1a } from '../helpers/v1a';

let ferry: FerryUnderTest;
let token: string;
let receiver: Receiver;
const ns = 'pushns';
let counter = 0;

/** A namespace whose events, dead deliveries and dead jobs are kept 2 s. */
const retainedNs = 'retained';

useFerry(
  async (f) => {
    ferry = f;
    token = await f.token(ns);
    receiver = await Receiver.start();
  },
  { FERRY_NAMESPACE_RETENTION_S: `${retainedNs}=2` },
);
afterAll(async () => {
  await receiver?.stop();
});

interface Json<T> {
  status: number;
  body: T;
}

/** Calls the push API; `T` is the answer's schema type where a test reads into it. */
async function call<T = Record<string, unknown>>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Json<T>> {
  const res = await ferry.queue(`/push/${ns}${path}`, {
    method,
    headers: { 'x-token': token, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
}

/** An endpoint on the local receiver whose path answers `replies` in turn. */
async function endpoint(settings: Record<string, unknown> = {}, ...replies: Parameters<Receiver['script']>[1][]) {
  const id = `ep${++counter}`;
  const url = receiver.script(`/${id}`, ...replies);
  const res = await call('POST', '/endpoints', { id, url, eventTypes: [`t${counter}.#`], retrySchedule: [1, 1], ...settings });
  expect(res.status).toBe(201);
  return { id, path: `/${id}`, type: `t${counter}.happened`, secret: res.body.secret as string };
}

const publish = async (event: Record<string, unknown>) => {
  const res = await call('POST', '/events', event);
  expect(res.status).toBe(202);
  return res.body as { id: string; endpoints: string[]; replayed: boolean };
};
const eventOf = async (id: string) => (await call<z.infer<typeof eventView>>('GET', `/events/${id}`)).body;
const settled = (id: string, status: string, timeoutMs = 15_000) =>
  eventually(async () => expect((await eventOf(id)).status).toBe(status), timeoutMs, 100);

describe('endpoints', () => {
  test('create shows the secret once; reads never show secrets or credentials', async () => {
    const created = await call('POST', '/endpoints', {
      id: 'secretive',
      url: `${receiver.url}/secretive`,
      auth: { type: 'bearer', token: 'top-secret-token' },
      headers: { 'x-api-key': 'top-secret-api-key' },
    });
    expect(created.status).toBe(201);
    expect(created.body.secret).toMatch(/^whsec_/);
    expect(created.body).toMatchObject({ timeoutMs: 30_000, retrySchedule: [10, 30, 90], eventTypes: ['#'], enabled: true, rateLimit: null, ordering: false });
    const read = await call('GET', '/endpoints/secretive');
    const text = JSON.stringify(read.body) + JSON.stringify((await call('GET', '/endpoints')).body);
    expect(text).not.toContain(created.body.secret as string);
    expect(text).not.toContain('top-secret-token');
    expect(text).not.toContain('top-secret-api-key');
    expect(read.body.auth).toEqual({ type: 'bearer' });
    expect(read.body.headers).toEqual({ 'x-api-key': '[hidden]' });
    // The hint tells keys apart without showing any character of the key.
    const { hint } = (read.body.secrets as { hint: string }[])[0]!;
    const key = (created.body.secret as string).slice('whsec_'.length);
    expect(hint).toMatch(/^whsec_…[0-9a-f]{8}$/);
    expect(hint.slice('whsec_…'.length)).not.toBe(key.slice(0, 8));
    expect((await call('PATCH', '/endpoints/secretive', { description: 'changed', eventTypes: ['nothing.matches'] })).body.description).toBe('changed');
    expect((await call('POST', '/endpoints', { id: 'secretive', url: `${receiver.url}/x` })).status).toBe(409);
    expect((await call('DELETE', '/endpoints/secretive')).status).toBe(204);
    expect((await call('GET', '/endpoints/secretive')).status).toBe(404);
  });

  test.each([
    [{ url: 'ftp://example.com/' }, /http/],
    [{ url: 'not a url' }, /url/],
    [{ url: 'http://example.com/', eventTypes: ['bad pattern'] }, /pattern/],
    [{ url: 'http://example.com/', headers: { 'webhook-id': 'x' } }, /set by Ferry/],
    [{ url: 'http://example.com/', headers: { 'x-a': 'line\r\nbreak' } }, /visible ASCII/],
    [{ url: 'http://example.com/', headers: { 'x-a': 'bell\u0007' } }, /no control characters/],
    [{ url: 'http://example.com/', headers: { 'x-a': 'café' } }, /no non-ASCII/],
    [{ url: 'http://example.com/', auth: { type: 'bearer', token: 'tök' } }, /visible ASCII/],
    [{ url: 'http://example.com/', headers: { expect: '100-continue' } }, /hop-by-hop/],
    [{ url: 'http://example.com/', headers: { Upgrade: 'websocket' } }, /hop-by-hop/],
    [{ url: 'http://example.com/', headers: { 'keep-alive': 'timeout=5' } }, /hop-by-hop/],
    [{ url: 'http://example.com/', headers: { Authorization: 'Bearer other' } }, /authorization comes from auth/],
    [{ url: 'http://example.com/', headers: { 'x-a': '1', 'X-A': '2' } }, /differ only in case/],
    [{ url: 'http://user:pass@example.com/' }, /credentials in the url are not sent/],
    [{ url: 'http://example.com/', retrySchedule: [-1] }, /./],
    [{ url: 'http://example.com/', secret: 'not-a-secret' }, /whsec_/],
    [{ url: 'http://example.com/', id: 'bad/id' }, /endpoint ids/],
    [{ url: 'http://example.com/', queue: { name: 'q' } }, /give url or queue, one of them/],
    [{ eventTypes: ['#'] }, /give url or queue, one of them/],
    [{ queue: { name: '_hidden' } }, /forbidden characters/],
    [{ queue: { name: 'q', tries: 0 } }, /./],
    [{ url: 'http://example.com/', retrySchedule: [1], backoff: { initialDelayMs: 1, maxDelayMs: 1, factor: 1, maxRetries: 1 } }, /retrySchedule or backoff/],
    [{ url: 'http://example.com/', backoff: { initialDelayMs: 1000, maxDelayMs: 10, factor: 2, maxRetries: 3 } }, /maxDelayMs must be at least initialDelayMs/],
    [{ url: 'http://example.com/', backoff: { initialDelayMs: 10, maxDelayMs: 100, factor: 0.5, maxRetries: 3 } }, /./],
    [{ url: 'http://example.com/', backoff: { initialDelayMs: 10, maxDelayMs: 100, factor: 2, maxRetries: 21 } }, /./],
  ])('bad endpoint %j is a 400 with a JSON error', async (body, message) => {
    const res = await call('POST', '/endpoints', body);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(message);
  });

  test('a body that is not JSON is a 415; an action without a body takes its defaults', async () => {
    const ep = await endpoint();
    for (const [type, body] of [['text/plain', '{"type":"a"}'], ['application/x-www-form-urlencoded', 'type=a'], ['application/octet-stream', 'x']]) {
      const res = await ferry.queue(`/push/${ns}/events`, { method: 'POST', headers: { 'x-token': token, 'content-type': type! }, body });
      expect([type, res.status, await res.json()]).toEqual([type, 415, { error: expect.stringMatching(/application\/json/) as string }]);
    }
    const disabled = await ferry.queue(`/push/${ns}/endpoints/${ep.id}/disable`, { method: 'POST', headers: { 'x-token': token } });
    expect(disabled.status).toBe(200);
    const enabled = await ferry.queue(`/push/${ns}/endpoints/${ep.id}/enable`, { method: 'POST', headers: { 'x-token': token } });
    expect([enabled.status, ((await enabled.json()) as { endpoint: { enabled: boolean } }).endpoint.enabled]).toEqual([200, true]);
  });

  test('a wrong token is refused', async () => {
    expect((await call('GET', '/endpoints', undefined, { 'x-token': 'nope' })).status).toBe(401);
  });
});

describe('delivery', () => {
  test('500, 500, 200 delivers on the third attempt, every attempt logged and traced', async () => {
    const ep = await endpoint({}, 500, 500, 200);
    const { id, endpoints } = await publish({ type: ep.type, data: { n: 1 } });
    expect(endpoints).toEqual([ep.id]);
    await settled(id, 'push_success');
    const hits = receiver.to(ep.path);
    expect(hits.map((h) => h.status)).toEqual([500, 500, 200]);
    expect(new Set(hits.map((h) => h.headers['webhook-id']))).toEqual(new Set([id]));
    // The schedule says 1 s between attempts.
    expect(hits[1]!.at - hits[0]!.at).toBeGreaterThanOrEqual(900);
    const view = await eventOf(id);
    expect(view.deliveries[0]!.attempts.map((a) => a.status)).toEqual([500, 500, 200]);
    const trace = (await call<z.infer<typeof traceView>>('GET', `/events/${id}/trace`)).body;
    expect(trace.attempts.map((a) => [a.endpointId, a.attempt, a.status])).toEqual([
      [ep.id, 1, 500],
      [ep.id, 2, 500],
      [ep.id, 3, 200],
    ]);
  });

  test('429 with Retry-After waits as long as the endpoint asked', async () => {
    const ep = await endpoint({ retrySchedule: [0] }, { status: 429, headers: { 'retry-after': '2' } }, 200);
    const { id } = await publish({ type: ep.type });
    await settled(id, 'push_success');
    const [first, second] = receiver.to(ep.path);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(1900);
  });

  test('400 dead-letters at once; re-push from the dead letter delivers', async () => {
    const ep = await endpoint({}, 400, 200);
    const { id } = await publish({ type: ep.type });
    await settled(id, 'push_failed');
    expect(receiver.to(ep.path)).toHaveLength(1);
    await eventually(async () => {
      const dead = (await call<z.infer<typeof deadLetterView>>('GET', `/deadletter?endpoint=${ep.id}`)).body.deliveries;
      expect(dead.map((d) => [d.eventId, d.endpointId, d.held])).toEqual([[id, ep.id, false]]);
      expect(dead[0]!.reason).toMatch(/EndpointRejected.*400/);
    });
    expect((await call('POST', `/events/${id}/repush`, {})).body.count).toBe(1);
    await settled(id, 'push_success');
    expect(receiver.to(ep.path).map((h) => h.status)).toEqual([400, 200]);
    await eventually(async () => expect((await call('GET', `/deadletter?endpoint=${ep.id}`)).body.deliveries).toEqual([]));
  });

  test('410 disables the endpoint; its later events are held and replayed when it is enabled', async () => {
    const ep = await endpoint({}, 410, 200);
    const first = await publish({ type: ep.type });
    await settled(first.id, 'push_failed');
    // The worker disabled it; API processes see that at their next refresh (two reads in a row: under
    // test:cluster they go to both).
    await eventually(async () => {
      for (let i = 0; i < 2; i++) {
        const disabled = (await call('GET', `/endpoints/${ep.id}`)).body;
        expect([disabled.enabled, disabled.disabledReason]).toEqual([false, expect.stringMatching(/410/)]);
      }
    });
    const held = await publish({ type: ep.type });
    await settled(held.id, 'push_failed');
    expect((await eventOf(held.id)).deliveries[0]!.deadLetter).toMatchObject({ held: true });
    expect(receiver.to(ep.path)).toHaveLength(1);
    await eventually(async () => expect((await call('GET', `/deadletter?endpoint=${ep.id}&held=true`)).body.deliveries).toHaveLength(1));
    const enabled = (await call('POST', `/endpoints/${ep.id}/enable`, {})).body;
    expect(enabled.replayed).toBe(1);
    await settled(held.id, 'push_success');
    // The 410'd delivery itself is not replayed: it failed, it was not held.
    expect((await eventOf(first.id)).status).toBe('push_failed');
  });

  test('a slow receiver times out and is retried', async () => {
    const ep = await endpoint({ timeoutMs: 300 }, { status: 200, delayMs: 1000 }, 200);
    const { id } = await publish({ type: ep.type });
    await settled(id, 'push_success');
    const attempts = (await eventOf(id)).deliveries[0]!.attempts;
    expect(attempts).toHaveLength(2);
    expect(attempts[0]).toMatchObject({ outcome: 'retry', status: null });
    expect(attempts[0]!.error).toMatch(/timeout|abort/i);
  });

  test('connection refused is retried until the schedule ends, then dead-lettered', async () => {
    const res = await call('POST', '/endpoints', { id: 'refused', url: 'http://127.0.0.1:9/hook', eventTypes: ['refused.#'], retrySchedule: [0, 0] });
    expect(res.status).toBe(201);
    const { id } = await publish({ type: 'refused.now' });
    await settled(id, 'push_failed');
    const attempts = (await eventOf(id)).deliveries[0]!.attempts;
    expect(attempts.map((a) => a.error)).toEqual([
      expect.stringMatching(/ECONNREFUSED/),
      expect.stringMatching(/ECONNREFUSED/),
      expect.stringMatching(/ECONNREFUSED/),
    ]);
  });

  test('fan-out to three endpoints where one fails: each result is its own', async () => {
    const type = `fan${++counter}.out`;
    const ok1 = await endpoint({ eventTypes: [type] }, 200);
    const ok2 = await endpoint({ eventTypes: ['fan*.#'.replace('*', String(counter))] }, 204);
    const bad = await endpoint({ eventTypes: ['#'], retrySchedule: [] }, 503);
    // '#' catches every other test's events too; it is deleted at the end of this test.
    const { id, endpoints } = await publish({ type, endpoints: [ok1.id, ok2.id, bad.id] });
    expect(endpoints.sort()).toEqual([ok1.id, ok2.id, bad.id].sort());
    await settled(id, 'push_failed');
    const statuses = Object.fromEntries((await eventOf(id)).deliveries.map((d: { endpointId: string; status: string }) => [d.endpointId, d.status]));
    expect(statuses).toEqual({ [ok1.id]: 'push_success', [ok2.id]: 'push_success', [bad.id]: 'push_failed' });
    await call('DELETE', `/endpoints/${bad.id}`);
  });

  test('topic patterns pick the endpoints an event goes to', async () => {
    const base = `topic${++counter}`;
    const patterns = { star: `${base}.device.*`, hash: `${base}.billing.#`, exact: `${base}.a.b`, middle: `${base}.*.b` };
    const ids: Record<string, string> = {};
    for (const [name, pattern] of Object.entries(patterns)) ids[name] = (await endpoint({ eventTypes: [pattern] })).id;
    const table: [string, string[]][] = [
      [`${base}.device.on`, ['star']],
      [`${base}.device.on.off`, []],
      [`${base}.device`, []],
      [`${base}.billing`, ['hash']],
      [`${base}.billing.invoice.paid`, ['hash']],
      [`${base}.a.b`, ['exact', 'middle']],
      [`${base}.x.b`, ['middle']],
    ];
    for (const [type, expected] of table) {
      const { endpoints } = await publish({ type });
      expect([type, endpoints.sort()]).toEqual([type, expected.map((n) => ids[n]!).sort()]);
    }
  });

  test('data filters: an endpoint gets the events of its types whose data matches every condition', async () => {
    const type = `filtered${++counter}.order`;
    const all = await endpoint({ eventTypes: [type] });
    const eu = await endpoint({ eventTypes: [type], dataFilter: [{ path: 'region', op: 'eq', value: 'eu' }] });
    const bigGold = await endpoint({
      eventTypes: [type],
      dataFilter: [
        { path: 'amount', op: 'gte', value: 100 },
        { path: 'customer.tier', op: 'in', value: ['gold', 'platinum'] },
      ],
    });
    const table: [unknown, string[]][] = [
      [{ region: 'eu', amount: 5 }, [all.id, eu.id]],
      [{ region: 'us', amount: 500, customer: { tier: 'gold' } }, [all.id, bigGold.id]],
      [{ region: 'eu', amount: 100, customer: { tier: 'platinum' } }, [all.id, eu.id, bigGold.id]],
      [{ region: 'us', amount: 500, customer: { tier: 'silver' } }, [all.id]],
      ['not an object', [all.id]],
    ];
    for (const [data, expected] of table) {
      const { endpoints } = await publish({ type, data });
      expect([data, endpoints.sort()]).toEqual([data, expected.sort()]);
    }
    // Named endpoints get the event whatever their filter.
    expect((await publish({ type, data: { region: 'us' }, endpoints: [eu.id] })).endpoints).toEqual([eu.id]);
    const bad = await call('PATCH', `/endpoints/${eu.id}`, { dataFilter: [{ path: 'region', op: 'in', value: 'eu' }] });
    expect(bad.status).toBe(400);
  });

  test('event-type catalog: a publish of a registered type must match its JSON schema', async () => {
    const name = `catalog${++counter}.invoice.paid`;
    const schema = { type: 'object', required: ['amount'], properties: { amount: { type: 'number', minimum: 0 }, currency: { enum: ['EUR', 'USD'] } } };
    const created = await call('POST', '/event-types', { name, description: 'an invoice was paid', schema });
    expect([created.status, created.body.name, created.body.schema]).toEqual([201, name, schema]);
    expect((await call('POST', '/event-types', { name })).status).toBe(409);
    const ep = await endpoint({ eventTypes: [name] });

    expect((await call('POST', '/events', { type: name, data: { amount: 10, currency: 'EUR' } })).status).toBe(202);
    for (const data of [{ currency: 'EUR' }, { amount: -1 }, { amount: 'ten' }, { amount: 1, currency: 'GBP' }, null]) {
      const refused = await call('POST', '/events', { type: name, data });
      expect([data, refused.status]).toEqual([data, 400]);
      expect(refused.body.error).toMatch(new RegExp(`schema of event type ${name.replace(/\./g, '\\.')}: data`));
    }
    // A batch with one bad event starts none.
    const batch = await call('POST', '/events/batch', { events: [{ id: `ok-${counter}`, type: name, data: { amount: 1 } }, { type: name, data: {} }] });
    expect(batch.status).toBe(400);
    expect((await call('GET', `/events/ok-${counter}`)).status).toBe(404);

    expect((await call('POST', '/event-types', { name: `${name}.x`, schema: { type: 'no-such-type' } })).status).toBe(400);
    expect((await call('GET', '/event-types')).body.eventTypes).toEqual(expect.arrayContaining([expect.objectContaining({ name })]));
    const relaxed = await call('PATCH', `/event-types/${name}`, { schema: { type: 'object' } });
    expect([relaxed.status, relaxed.body.description]).toEqual([200, 'an invoice was paid']);
    expect((await call('POST', '/events', { type: name, data: { currency: 'GBP' } })).status).toBe(202);
    expect((await call('DELETE', `/event-types/${name}`)).status).toBe(204);
    expect((await call('GET', `/event-types/${name}`)).status).toBe(404);
    expect((await call('POST', '/events', { type: name, data: 'anything' })).status).toBe(202);
    await eventually(async () => expect(receiver.to(ep.path)).toHaveLength(3), 15_000, 100);
  });

  test('the same event id twice makes one delivery set', async () => {
    const ep = await endpoint();
    const first = await publish({ id: `same-${counter}`, type: ep.type });
    const second = await publish({ id: `same-${counter}`, type: ep.type });
    expect([first.replayed, second.replayed]).toEqual([false, true]);
    await settled(first.id, 'push_success');
    await new Promise((r) => setTimeout(r, 500));
    expect(receiver.to(ep.path)).toHaveLength(1);
  });

  test('unknown named endpoints and bad events are 400s', async () => {
    expect((await call('POST', '/events', { type: 'x.y', endpoints: ['nope'] })).body.error).toMatch(/unknown endpoint: nope/);
    expect((await call('POST', '/events', { type: 'bad type' })).status).toBe(400);
    expect((await call('POST', '/events', { type: 'x', timestamp: 'yesterday' })).status).toBe(400);
    expect((await call('POST', '/events', { type: 'x', data: 'y'.repeat(300_000) })).status).toBe(413);
    expect((await call('POST', '/events/batch', { events: [] })).status).toBe(400);
    const raw = await ferry.queue(`/push/${ns}/events`, { method: 'POST', headers: { 'x-token': token, 'content-type': 'application/json' }, body: '{bad json' });
    expect(raw.status).toBe(400);
    expect(await raw.json()).toHaveProperty('error');
  });

  test('bulk publish delivers every event of the batch', async () => {
    const ep = await endpoint();
    const res = await call('POST', '/events/batch', { events: [1, 2, 3].map((n) => ({ type: ep.type, data: { n } })) });
    expect(res.status).toBe(202);
    expect(res.body.events).toHaveLength(3);
    await eventually(async () => expect(receiver.to(ep.path)).toHaveLength(3), 15_000, 100);
  });

  test('signatures verify with the standardwebhooks package, with both keys during a rotation', async () => {
    const ep = await endpoint();
    const { id } = await publish({ type: ep.type, data: { hello: 'world' } });
    await settled(id, 'push_success');
    const [hit] = receiver.to(ep.path);
    expect(new Webhook(ep.secret).verify(hit!.body, hit!.headers as Record<string, string>)).toMatchObject({ id, type: ep.type, data: { hello: 'world' } });

    const rotated = (await call('POST', `/endpoints/${ep.id}/rotate-secret`, { overlapSeconds: 3600 })).body;
    expect(rotated.secret).toMatch(/^whsec_/);
    await eventually(async () => expect((await call('GET', `/endpoints/${ep.id}`)).body.secrets).toHaveLength(2));
    const during = await publish({ type: ep.type });
    await settled(during.id, 'push_success');
    const last = receiver.to(ep.path).at(-1)!;
    expect(String(last.headers['webhook-signature']).split(' ')).toHaveLength(2);
    for (const secret of [ep.secret, rotated.secret as string]) {
      expect(new Webhook(secret).verify(last.body, last.headers as Record<string, string>)).toMatchObject({ id: during.id });
    }

    await call('POST', `/endpoints/${ep.id}/rotate-secret`, { overlapSeconds: 0, secret: rotated.secret });
    const after = await publish({ type: ep.type });
    await settled(after.id, 'push_success');
    const newest = receiver.to(ep.path).at(-1)!;
    expect(() => new Webhook(ep.secret).verify(newest.body, newest.headers as Record<string, string>)).toThrow();
    expect(new Webhook(rotated.secret as string).verify(newest.body, newest.headers as Record<string, string>)).toMatchObject({ id: after.id });
  });

  test('v1a: an Ed25519 endpoint signs what its public key verifies; rotating a v1 endpoint to v1a sends both', async () => {
    const ed = await endpoint({ signatureScheme: 'v1a' });
    expect(ed.secret).toMatch(/^whsk_/);
    const shown = (await call<z.infer<typeof endpointView>>('GET', `/endpoints/${ed.id}`)).body.secrets;
    expect(shown).toEqual([expect.objectContaining({ scheme: 'v1a', publicKey: expect.stringMatching(/^whpk_/) as string })]);
    const { id } = await publish({ type: ed.type });
    await settled(id, 'push_success');
    const [hit] = receiver.to(ed.path);
    expect(verifiesV1a(shown[0]!.publicKey!, hit!.headers, hit!.body)).toBe(true);

    const hmac = await endpoint();
    const rotated = (await call<z.infer<typeof rotatedView>>('POST', `/endpoints/${hmac.id}/rotate-secret`, { signatureScheme: 'v1a', overlapSeconds: 600 })).body;
    expect([rotated.secret.slice(0, 5), rotated.publicKey?.slice(0, 5)]).toEqual(['whsk_', 'whpk_']);
    await eventually(async () => expect((await call<z.infer<typeof endpointView>>('GET', `/endpoints/${hmac.id}`)).body.secrets).toHaveLength(2));
    const during = await publish({ type: hmac.type });
    await settled(during.id, 'push_success');
    const last = receiver.to(hmac.path).at(-1)!;
    expect(new Webhook(hmac.secret).verify(last.body, last.headers as Record<string, string>)).toMatchObject({ id: during.id });
    expect(verifiesV1a(rotated.publicKey!, last.headers, last.body)).toBe(true);
  });

  test('a redirect, even to a metadata address, is a failure and is not followed', async () => {
    const ep = await endpoint({ retrySchedule: [] }, { status: 302, headers: { location: 'http://169.254.169.254/latest/meta-data/' } });
    const { id } = await publish({ type: ep.type });
    await settled(id, 'push_failed');
    expect((await eventOf(id)).deliveries[0]!.attempts[0]).toMatchObject({ status: 302, outcome: 'retry' });
    expect(receiver.to(ep.path)).toHaveLength(1);
  });

  test.each([
    ['the cloud metadata address', 'http://169.254.169.254/latest/meta-data/'],
    ['a private 10.x address', 'http://10.0.0.1/hook'],
    ['loopback outside the allow-list (127.0.0.1/32)', 'http://127.0.0.2:9/hook'],
    ['IPv4-mapped IPv6 loopback outside the allow-list', 'http://[::ffff:127.0.0.3]:9/hook'],
  ])('a delivery to %s is refused before any request, and dead-lettered without retries', async (_label, url) => {
    const id = `ssrf${++counter}`;
    expect((await call('POST', '/endpoints', { id, url, eventTypes: [`${id}.#`], retrySchedule: [0, 0] })).status).toBe(201);
    const published = await publish({ type: `${id}.x` });
    await settled(published.id, 'push_failed');
    const delivery = (await eventOf(published.id)).deliveries[0]!;
    expect(delivery.attempts).toHaveLength(1);
    expect(delivery.attempts[0]!.error).toMatch(/forbidden|not allowed|refus/i);
    expect(delivery.deadLetter?.reason).toMatch(/ForbiddenAddress/);
  });

  test('auth and custom headers reach the endpoint', async () => {
    const ep = await endpoint({ auth: { type: 'basic', username: 'u', password: 'p' }, headers: { 'x-env': 'test' } });
    const { id } = await publish({ type: ep.type });
    await settled(id, 'push_success');
    const [hit] = receiver.to(ep.path);
    expect([hit!.headers.authorization, hit!.headers['x-env']]).toEqual([`Basic ${Buffer.from('u:p').toString('base64')}`, 'test']);
  });
});

describe('health, rate limit and ordering', () => {
  test('a rate limit of 4/s is enforced by Temporal across the task queue', async () => {
    const ep = await endpoint({ rateLimit: 4 });
    for (let i = 0; i < 20; i++) await publish({ type: ep.type });
    await eventually(async () => expect(receiver.to(ep.path)).toHaveLength(20), 30_000, 100);
    const times = receiver.to(ep.path).map((h) => h.at);
    // A token bucket of 4/s with a burst of 4 lets at most 4 + 4t through in any t seconds: 20
    // deliveries need at least (20 - 4) / 4 = 4 s (less a little for the receiver's clock), and no
    // second sees more than 8, give or take one whose request took longer than the next one's (the
    // receiver sees arrivals, Temporal counts dispatches: 9 were seen once on the cluster, whose 2
    // workers each poll every partition). Without the limit all 20 arrive within a few hundred ms.
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(3500);
    const maxInAnySecond = Math.max(...times.map((t) => times.filter((u) => u >= t && u < t + 1000).length));
    expect(maxInAnySecond).toBeLessThanOrEqual(9);
  });

  test('with ordering on, deliveries of one key arrive in publish order even when one is retried', async () => {
    const ep = await endpoint({ ordering: true }, 500, 200);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await publish({ type: ep.type, orderingKey: 'customer-1', data: { i } })).id);
    await eventually(async () => expect(receiver.to(ep.path).filter((h) => h.status === 200)).toHaveLength(5), 20_000, 100);
    const delivered = receiver.to(ep.path).filter((h) => h.status === 200).map((h) => (JSON.parse(h.body) as { id: string }).id);
    expect(delivered).toEqual(ids);
  });
});

/** Consumes one job from a queue of the namespace through the lmstfy API; null when there is none. */
async function consumeJob(queue: string, timeout = 0): Promise<{ job_id: string; data: string } | null> {
  const res = await ferry.queue(`/api/${ns}/${queue}?timeout=${timeout}&ttr=30`, { headers: { 'x-token': token } });
  if (res.status === 404) return null;
  expect(res.status).toBe(200);
  return (await res.json()) as { job_id: string; data: string };
}
const envelopeOf = (job: { data: string }) => JSON.parse(Buffer.from(job.data, 'base64').toString()) as Record<string, unknown>;
const queueSize = async (queue: string) => ((await (await ferry.queue(`/api/${ns}/${queue}/size`, { headers: { 'x-token': token } })).json()) as { size: number }).size;

describe('pulled subscriptions (endpoints whose destination is a queue)', () => {
  test('every matching event becomes one job in each subscribed queue; consumers of one queue compete for its jobs', async () => {
    const topic = `orders${++counter}`;
    const [billing, shipping] = [`billing${counter}`, `shipping${counter}`];
    const created = await call('POST', '/endpoints', { id: `sub-${billing}`, queue: { name: billing }, eventTypes: [`${topic}.#`] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ url: null, queue: { name: billing, tries: 3, ttl: 0 } });
    await call('POST', '/endpoints', {
      id: `sub-${shipping}`,
      queue: { name: shipping, tries: 1, ttl: 3600 },
      eventTypes: [`${topic}.created`],
      dataFilter: [{ path: 'country', op: 'eq', value: 'NL' }],
    });
    const events = [
      { id: `${topic}-1`, type: `${topic}.created`, data: { country: 'NL' } },
      { id: `${topic}-2`, type: `${topic}.created`, data: { country: 'DE' } },
      { id: `${topic}-3`, type: `${topic}.paid`, data: { country: 'NL' } },
    ];
    for (const event of events) await publish(event);
    // The same event again is the same delivery: no second job.
    expect((await publish(events[0]!)).replayed).toBe(true);
    for (const event of events) await settled(event.id, 'push_success');
    expect([await queueSize(billing), await queueSize(shipping)]).toEqual([3, 1]);

    // Two consumers of the billing group take different jobs; together they get every event once.
    const taken = await Promise.all([consumeJob(billing), consumeJob(billing), consumeJob(billing)]);
    const ids = taken.map((job) => envelopeOf(job!).id).sort();
    expect(ids).toEqual(events.map((e) => e.id).sort());
    expect(await consumeJob(billing)).toBeNull();
    const shipped = await consumeJob(shipping);
    expect(envelopeOf(shipped!)).toMatchObject({ id: `${topic}-1`, type: `${topic}.created`, data: { country: 'NL' }, source: null });
    // The delivery's attempt names the job it made.
    const delivery = (await eventOf(`${topic}-1`)).deliveries.find((d) => d.endpointId === `sub-${shipping}`)!;
    expect(JSON.parse(delivery.attempts[0]!.responseExcerpt!)).toEqual({ queue: shipping, jobId: shipped!.job_id });
  });

  test('an event larger than a job may be dead-letters at once, with the reason', async () => {
    const queue = `big${++counter}`;
    await call('POST', '/endpoints', { id: `sub-${queue}`, queue: { name: queue }, eventTypes: [`${queue}.#`] });
    const { id } = await publish({ type: `${queue}.x`, data: 'y'.repeat(70_000) });
    await settled(id, 'push_failed');
    const dead = (await call<z.infer<typeof deadLetterView>>('GET', `/deadletter?endpoint=sub-${queue}`)).body.deliveries;
    expect(dead.map((d) => [d.eventId, d.reason])).toEqual([[id, expect.stringMatching(/EndpointRejected: .*a job in queue .* may take at most 65535/)]]);
    expect(await queueSize(queue)).toBe(0);
  });
});

describe('delayed and expiring events, backoff by parameters', () => {
  test('delay holds the deliveries; the event shows when they may start', async () => {
    const ep = await endpoint();
    const before = Date.now();
    const { id } = await publish({ type: ep.type, delay: 2 });
    const waiting = await eventOf(id);
    expect(waiting.status).toBe('pending');
    expect(Date.parse(waiting.deliverAt!) - before).toBeGreaterThanOrEqual(2000);
    await settled(id, 'push_success');
    expect(receiver.to(ep.path)[0]!.at - before).toBeGreaterThanOrEqual(1900);
  });

  test('ttl: a delivery that cannot be made in time expires; it is listed as expired, not dead-lettered', async () => {
    const ep = await endpoint({ retrySchedule: [5] }, 503);
    const { id } = await publish({ type: ep.type, ttl: 2 });
    await settled(id, 'expired');
    const view = await eventOf(id);
    expect(view.deliveries[0]).toMatchObject({ status: 'expired', deadLetter: null });
    expect(view.expiresAt).not.toBeNull();
    expect(receiver.to(ep.path)).toHaveLength(1);
    await eventually(async () => {
      const listed = (await call<z.infer<typeof eventListView>>('GET', `/events?status=expired&type=${ep.type}`)).body.events;
      expect(listed.map((e) => e.id)).toEqual([id]);
    });
    const dead = (await call<z.infer<typeof deadLetterView>>('GET', `/deadletter?endpoint=${ep.id}`)).body.deliveries;
    expect(dead).toEqual([]);
  });

  test.each([
    [{ delay: 5, deliverAt: '2030-01-01T00:00:00Z' }, /deliverAt or delay, not both/],
    [{ ttl: 5, expiresAt: '2030-01-01T00:00:00Z' }, /expiresAt or ttl, not both/],
    [{ delay: 10, ttl: 5 }, /expire before its deliveries may start/],
    [{ expiresAt: '2001-01-01T00:00:00Z' }, /expire before its deliveries may start/],
    [{ delay: 5, orderingKey: 'k' }, /orderingKey cannot be delayed/],
    [{ delay: -1 }, /./],
    [{ deliverAt: 'tomorrow' }, /./],
  ])('publish %j is a 400 with a JSON error', async (times, message) => {
    const res = await call('POST', '/events', { type: 'x.y', ...times });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(message);
  });

  test('a backoff is shown with the delays it gives, and drives the retries', async () => {
    const ep = await endpoint({ retrySchedule: undefined, backoff: { initialDelayMs: 200, maxDelayMs: 500, factor: 3, maxRetries: 3 } }, 500, 500, 500, 200);
    const shown = (await call<z.infer<typeof endpointView>>('GET', `/endpoints/${ep.id}`)).body;
    expect(shown).toMatchObject({ backoff: { initialDelayMs: 200, maxDelayMs: 500, factor: 3, maxRetries: 3 }, retryDelaysMs: [200, 500, 500] });
    const { id } = await publish({ type: ep.type });
    await settled(id, 'push_success');
    const at = receiver.to(ep.path).map((h) => h.at);
    const waits = at.slice(1).map((t, i) => t - at[i]!);
    [200, 500, 500].forEach((expected, i) => expect(waits[i]).toBeGreaterThanOrEqual(expected - 20));
    // A schedule given later replaces the backoff.
    const changed = (await call<z.infer<typeof endpointView>>('PATCH', `/endpoints/${ep.id}`, { retrySchedule: [1] })).body;
    expect(changed).toMatchObject({ backoff: null, retrySchedule: [1], retryDelaysMs: [1000] });
  });
});

describe('dead letter', () => {
  test('entries carry the error, the endpoint and its host, the route, the failed-at time and the attempts; type filters take patterns', async () => {
    const ep = await endpoint({ retrySchedule: [0] }, 503);
    const { id } = await publish({ type: ep.type });
    await settled(id, 'push_failed');
    const host = new URL(receiver.url).host;
    for (const type of [ep.type, `t${counter}.*`, `t${counter}.#`, '#']) {
      const listed = (await call<z.infer<typeof deadLetterView>>('GET', `/deadletter?endpoint=${ep.id}&type=${encodeURIComponent(type)}`)).body.deliveries;
      expect(listed).toEqual([
        { eventId: id, type: ep.type, endpointId: ep.id, host, queue: null, reason: expect.stringMatching(/EndpointUnavailable/) as string, held: false, failedAt: expect.any(String) as string, attempts: 2 },
      ]);
    }
    for (const type of ['other.*', `t${counter}.*.*`]) {
      expect((await call<z.infer<typeof deadLetterView>>('GET', `/deadletter?endpoint=${ep.id}&type=${encodeURIComponent(type)}`)).body.deliveries).toEqual([]);
    }
    expect((await call('GET', '/deadletter?type=bad%20pattern')).status).toBe(400);
  });

  test('a dead-letter sink gets every dead delivery whose type matches, with what failed; a queue can be the sink', async () => {
    const topic = `dlx${++counter}`;
    const sink = `${topic}-dead`;
    // Sinks get dead deliveries only, never the events themselves.
    expect((await call('POST', '/endpoints', { id: sink, queue: { name: sink }, eventTypes: [`${topic}.#`], deadLetters: true })).status).toBe(201);
    const failing = await endpoint({ eventTypes: [`${topic}.#`] }, 422);
    const ok = await endpoint({ eventTypes: [`${topic}.#`] }, 200);
    const { id, endpoints } = await publish({ type: `${topic}.order.failed`, data: { order: 7 } });
    expect(endpoints.sort()).toEqual([failing.id, ok.id].sort());
    await settled(id, 'push_failed');
    await eventually(async () => expect(await queueSize(sink)).toBe(1), 15_000, 200);
    const job = envelopeOf((await consumeJob(sink))!);
    expect(job).toMatchObject({
      id: expect.stringMatching(/^dl_/) as string,
      type: `${topic}.order.failed`,
      data: { order: 7 },
      metadata: {
        deadLetter: { eventId: id, endpointId: failing.id, host: new URL(receiver.url).host, queue: null, error: expect.stringMatching(/EndpointRejected.*422/) as string, attempts: 1 },
      },
    });
    // The delivery stays in the dead letter too, to be re-pushed or dropped there.
    expect((await call<z.infer<typeof deadLetterView>>('GET', `/deadletter?endpoint=${failing.id}`)).body.deliveries.map((d) => d.eventId)).toEqual([id]);
    expect(await queueSize(sink)).toBe(0);
  });

  test('bulk re-push by filter says how many it will do, then does them', async () => {
    const ep = await endpoint({ retrySchedule: [] }, 422, 422, 200);
    const first = await publish({ type: ep.type });
    const second = await publish({ type: ep.type });
    await settled(first.id, 'push_failed');
    await settled(second.id, 'push_failed');
    await eventually(async () => expect((await call('POST', '/deadletter/repush', { endpoint: ep.id, dryRun: true })).body).toEqual({ count: 2, dryRun: true }));
    expect((await call('POST', '/deadletter/repush', { endpoint: ep.id })).body).toEqual({ count: 2, dryRun: false });
    await settled(first.id, 'push_success');
    await settled(second.id, 'push_success');
  });

  test('`temporal workflow signal` re-pushes from the CLI', async () => {
    const ep = await endpoint({ retrySchedule: [] }, 400, 200);
    const { id } = await publish({ type: ep.type });
    await settled(id, 'push_failed');
    await eventually(async () => expect((await call('GET', `/deadletter?endpoint=${ep.id}`)).body.deliveries).toHaveLength(1));
    const address = ferry.env.connection.options.address;
    await promisify(execFile)(temporalTools().temporal!, [
      'workflow', 'signal', '--address', address, '--namespace', 'default',
      '--workflow-id', `push-deadletter/${ns}`, '--name', 'repush', '--input', JSON.stringify({ endpoint: ep.id }),
    ]);
    await settled(id, 'push_success');
  });

  test('delete drops a dead delivery; the event then finishes', async () => {
    const ep = await endpoint({ retrySchedule: [] }, 400);
    const { id } = await publish({ type: ep.type });
    await settled(id, 'push_failed');
    expect((await call('DELETE', `/deadletter/${id}`, {})).body.count).toBe(1);
    await eventually(async () => expect((await call('GET', `/deadletter?endpoint=${ep.id}`)).body.deliveries).toEqual([]));
  });
});

describe('retention', () => {
  test('a namespace kept 2 s drops its dead deliveries and dead jobs, and the retention schedule has Temporal delete its finished events', async () => {
    const retainedToken = await ferry.token(retainedNs);
    const asRetained = async (method: string, path: string, body?: unknown) => {
      const res = await ferry.queue(path, {
        method,
        headers: { 'x-token': retainedToken, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
    };
    const push = `/push/${retainedNs}`;
    for (const [id, status] of [['kept-ok', 200], ['kept-bad', 422]] as const) {
      expect((await asRetained('POST', `${push}/endpoints`, { id, url: receiver.script(`/${retainedNs}-${id}`, status), eventTypes: [`${id}.#`] })).status).toBe(201);
    }
    const delivered = (await asRetained('POST', `${push}/events`, { type: 'kept-ok.x' })).body.id as string;
    const failed = (await asRetained('POST', `${push}/events`, { type: 'kept-bad.x' })).body.id as string;
    const defaultNs = await publish({ type: (await endpoint()).type });
    await settled(defaultNs.id, 'push_success');

    // The dead delivery is dropped 2 s after it failed: out of the dead letter, and its push ends.
    await eventually(async () => {
      const view = (await asRetained('GET', `${push}/events/${failed}`)).body as z.infer<typeof eventView>;
      expect(view.deliveries[0]).toMatchObject({ status: 'push_failed', deadLetter: null, droppedAt: expect.any(String) as string });
    }, 15_000, 200);
    expect((await asRetained('GET', `${push}/deadletter`)).body.deliveries).toEqual([]);

    // A dead job of the namespace goes the same way.
    expect((await asRetained('PUT', `/api/${retainedNs}/jobs?tries=1&ttl=0`, 'x')).status).toBe(201);
    expect((await asRetained('GET', `/api/${retainedNs}/jobs?ttr=1&timeout=0`)).status).toBe(200);
    await eventually(async () => expect((await asRetained('GET', `/api/${retainedNs}/jobs/deadletter/size`)).body.size).toBe(1), 15_000, 200);
    await eventually(async () => expect((await asRetained('GET', `/api/${retainedNs}/jobs/deadletter/size`)).body.size).toBe(0), 15_000, 200);

    // An hourly run, triggered now: both finished events of the namespace are deleted; others stay.
    await ferry.env.client.schedule.getHandle(retentionScheduleId(ferry.config.FERRY_TASK_QUEUE)).trigger();
    await eventually(async () => {
      expect([(await asRetained('GET', `${push}/events/${delivered}`)).status, (await asRetained('GET', `${push}/events/${failed}`)).status]).toEqual([404, 404]);
    }, 60_000, 500);
    expect((await eventOf(defaultNs.id)).status).toBe('push_success');
  });
});

describe('observability', () => {
  test('events list by type and status', async () => {
    const ep = await endpoint();
    const { id } = await publish({ type: ep.type });
    await settled(id, 'push_success');
    await eventually(async () => {
      const listed = (await call<z.infer<typeof eventListView>>('GET', `/events?type=${ep.type}&status=push_success`)).body.events;
      expect(listed.map((e: { id: string }) => e.id)).toEqual([id]);
    });
  });

  test('metrics: attempts on the worker, published events and dead deliveries on the admin API; OpenAPI documents push', async () => {
    const worker = await ferry.workerMetrics();
    expect(worker).toMatch(/ferry_push_attempts_total\{[^}]*outcome="success"/);
    expect(worker).toMatch(/ferry_push_attempt_duration_ms_bucket/);
    expect(worker).toMatch(/ferry_push_deliveries_total\{[^}]*outcome="dead"/);
    const admin = await (await ferry.admin('/metrics')).text();
    expect(admin).toMatch(/ferry_push_events_published_total\{namespace="pushns"\} \d+/);
    // The refused-connection test left exactly one dead delivery; endpoints without any show 0.
    expect(admin).toMatch(/^ferry_push_dead_deliveries\{namespace="pushns",endpoint="refused"\} 1$/m);
    expect(admin).toMatch(/^ferry_push_dead_deliveries\{namespace="pushns",endpoint="ep\d+"\} 0$/m);
    const openapi = (await (await ferry.queue('/openapi.json')).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(['/push/{namespace}/events', '/push/{namespace}/endpoints', '/push/{namespace}/deadletter', '/push/{namespace}/event-types']));
  });
});
