import { connect } from 'node:net';
import pino from 'pino';
import { endpointQuotas, healthPolicy } from '../../src/config';
import { EndpointDirectory } from '../../src/temporal/endpoint-directory';
import { newEndpoint } from '../../src/workflows/endpoints.messages';
import { DEFAULT_SETTINGS } from '../../src/api/push-schemas';
import { indexTaskQueue, LEGACY_ENDPOINT_REGISTRY_WORKFLOW_ID } from '../../src/workflows/ids';
import type { FerryUnderTest } from '../helpers/ferry';
import { useFerry } from '../helpers/ferry';
import { eventually } from '../helpers/eventually';
import { Receiver } from '../helpers/receiver';

let ferry: FerryUnderTest;
let token: string;
let receiver: Receiver;
const ns = 'hardening';

useFerry(async (f) => {
  ferry = f;
  token = await f.token(ns);
  receiver = await Receiver.start();
}, { FERRY_REQUEST_TIMEOUT_MS: '2000', FERRY_PUSH_MAX_ENDPOINTS: '50', FERRY_PUSH_MAX_EVENT_TYPES: '5', FERRY_PUSH_MAX_NAMESPACE_BYTES: '65536' });
afterAll(async () => {
  await receiver?.stop();
});

async function push(method: string, path: string, body?: unknown, as = { ns, token }): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await ferry.queue(`/push/${as.ns}${path}`, {
    method,
    headers: { 'x-token': as.token, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
}

describe('event-type schemas', () => {
  test('an $async schema is refused with a 400 and the process keeps serving', async () => {
    const res = await push('POST', '/event-types', { name: 'async.type', schema: { $async: true, type: 'object', properties: { n: { type: 'number' } } } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/\$async is not supported/);
    expect((await push('POST', '/events', { type: 'async.type', data: { n: 'x' } })).status).toBe(202);
    expect((await ferry.admin('/health')).status).toBe(200);
  });

  test('a backtracking pattern answers at once, and /health answers meanwhile', async () => {
    const created = await push('POST', '/event-types', { name: 'redos.type', schema: { properties: { name: { type: 'string', pattern: '^(a+)+$' } } } });
    expect(created.status).toBe(201);
    const started = Date.now();
    const [publish, health] = await Promise.all([
      push('POST', '/events', { type: 'redos.type', data: { name: `${'a'.repeat(40)}!` } }),
      ferry.admin('/health'),
    ]);
    expect(publish.status).toBe(400);
    expect(publish.body.error).toMatch(/data\/name must match pattern/);
    expect(health.status).toBe(200);
    // Backtracking needed 11 s at 31 characters, 1.6× more per character.
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('Temporal limits reachable through the API', () => {
  test('an event whose endpoint ids would overflow a search attribute is refused before anything starts; one within the bound is delivered', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `${String(i).padStart(2, '0')}-${'e'.repeat(61)}`);
    for (const id of ids) {
      expect((await push('POST', '/endpoints', { id, url: receiver.script(`/fan/${id}`, 200), eventTypes: ['fan.#'] })).status).toBe(201);
    }
    const refused = await push('POST', '/events', { id: 'fan-all', type: 'fan.out', endpoints: ids });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatch(/^this event would go to 40 endpoints whose ids take 2681 bytes/);
    // By pattern too: all 40 match fan.#.
    expect((await push('POST', '/events', { id: 'fan-pattern', type: 'fan.out' })).status).toBe(400);
    for (const id of ['fan-all', 'fan-pattern']) expect((await push('GET', `/events/${id}`)).status).toBe(404);

    const within = ids.slice(0, 28);
    const accepted = await push('POST', '/events', { id: 'fan-28', type: 'fan.out', endpoints: within });
    expect(accepted.status).toBe(202);
    await eventually(async () => expect((await push('GET', '/events/fan-28')).body.status).toBe('push_success'), 30_000, 200);
    for (const id of within) expect(receiver.to(`/fan/${id}`)).toHaveLength(1);
    const listed = await push('GET', '/events?type=fan.out');
    expect(listed.body.events).toEqual([expect.objectContaining({ id: 'fan-28', endpoints: within })]);
  }, 60_000);
});

/**
 * Sends a request's head, then trickles its body one byte every 200 ms. Answers the status line of
 * the response and how long after the head it came.
 */
function trickle(url: string, head: string, bodyBytes: number): Promise<{ statusLine: string; afterMs: number }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let sentAt = 0;
    let timer: NodeJS.Timeout | undefined;
    let answer = '';
    socket.on('connect', () => {
      socket.write(`${head}\r\nHost: ${hostname}\r\nContent-Length: ${bodyBytes}\r\n\r\n`);
      sentAt = Date.now();
      timer = setInterval(() => socket.write('['), 200);
    });
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString();
      if (!answer.includes('\r\n')) return;
      clearInterval(timer);
      socket.destroy();
      resolve({ statusLine: answer.split('\r\n')[0]!, afterMs: Date.now() - sentAt });
    });
    socket.on('error', reject);
  });
}

describe('resource bounds', () => {
  test('a request without a valid token is refused before its body is read', async () => {
    for (const head of [`PUT /api/${ns}/q`, `POST /push/${ns}/events`]) {
      const res = await trickle(ferry.api.queueUrl, `${head} HTTP/1.1\r\nContent-Type: application/json\r\nX-Token: wrong`, 10_000_000);
      expect(res.statusLine).toBe('HTTP/1.1 401 Unauthorized');
      expect(res.afterMs).toBeLessThan(1000);
    }
  });

  test('a body trickled 1 byte at a time is cut off with a 408 at the request timeout', async () => {
    const res = await trickle(ferry.api.queueUrl, `POST /push/${ns}/events HTTP/1.1\r\nContent-Type: application/json\r\nX-Token: ${token}`, 1000);
    expect(res.statusLine).toBe('HTTP/1.1 408 Request Timeout');
    // FERRY_REQUEST_TIMEOUT_MS is 2000 here; Node checks once a second.
    expect(res.afterMs).toBeGreaterThan(1500);
    expect(res.afterMs).toBeLessThan(5000);
  });

  test('JSON nested 10,000 levels deep is a 400, not a 500', async () => {
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    for (const path of ['/events', '/endpoints', '/event-types']) {
      const res = await ferry.queue(`/push/${ns}${path}`, { method: 'POST', headers: { 'x-token': token, 'content-type': 'application/json' }, body: `{"data":${deep}}` });
      expect([res.status, await res.json()]).toEqual([400, { error: 'JSON nested deeper than 64 levels' }]);
    }
  });

  test('a lone surrogate in orderingKey is a 400 and starts nothing', async () => {
    const body = '{"id":"surrogate-1","type":"any.thing","orderingKey":"key-\\ud800"}';
    const res = await ferry.queue(`/push/${ns}/events`, { method: 'POST', headers: { 'x-token': token, 'content-type': 'application/json' }, body });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/orderingKey must be well-formed Unicode/);
    expect((await push('GET', '/events/surrogate-1')).status).toBe(404);
  });

  test('a consume names at most 16 distinct queues, and its metric series go when it ends', async () => {
    const many = Array.from({ length: 17 }, (_, i) => `many${i}`).join(',');
    const refused = await ferry.queue(`/api/${ns}/${many}?timeout=0`, { headers: { 'x-token': token } });
    expect([refused.status, await refused.json()]).toEqual([400, { error: 'too many queues, cannot exceed 16' }]);
    const repeated = Array.from({ length: 300 }, () => 'once').join(',');
    expect((await ferry.queue(`/api/${ns}/${repeated}?timeout=1`, { headers: { 'x-token': token } })).status).toBe(404);
    const metrics = await (await ferry.admin('/metrics')).text();
    expect(metrics).not.toMatch(/ferry_active_consumers\{[^}]*queue="once"/);
  });

  test("a token's rate limit applies to the push API too", async () => {
    const limited = await ferry.token(ns);
    const limit = { read: 2, write: 1, interval: 60 };
    const set = await ferry.admin(`/token/${ns}/${limited}/limit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(limit) });
    expect(set.status).toBe(201);
    await eventually(async () => {
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await ferry.queue(`/push/${ns}/endpoints`, { headers: { 'x-token': limited } })).status);
      expect(statuses).toContain(429);
    }, 10_000, 500);
    // Each API process counts on its own (README, "Several API processes"): both publishes go to one.
    const publish = () =>
      fetch(`${ferry.api.queueUrl}/push/${ns}/events`, { method: 'POST', headers: { 'x-token': limited, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'limited.event' }) });
    const first = await publish();
    const second = await publish();
    expect([first.status, second.status]).toEqual([202, 429]);
    expect(((await second.json()) as { msg: string }).msg).toMatch(/write reach the limit rate/);
  });
});

describe('per-namespace registries and quotas', () => {
  const as = async (namespace: string) => ({ ns: namespace, token: await ferry.token(namespace) });
  const bigHeaders = Object.fromEntries(Array.from({ length: 2 }, (_, i) => [`x-big-${i}`, 'v'.repeat(4000)]));

  test('a namespace at its endpoint, event-type and byte quotas gets 400s; other namespaces keep working', async () => {
    const full = await as('quota-full');
    const other = await as('quota-other');
    for (let i = 0; i < 50; i++) expect((await push('POST', '/endpoints', { id: `e${i}`, url: `${receiver.url}/full` }, full)).status).toBe(201);
    const over = await push('POST', '/endpoints', { id: 'e50', url: `${receiver.url}/full` }, full);
    expect(over).toEqual({ status: 400, body: { error: 'a namespace has at most 50 endpoints' } });
    for (let i = 0; i < 5; i++) expect((await push('POST', '/event-types', { name: `t${i}` }, full)).status).toBe(201);
    expect(await push('POST', '/event-types', { name: 't5' }, full)).toEqual({ status: 400, body: { error: 'a namespace has at most 5 event types' } });

    // Headers of 50 × 4000 bytes were accepted before; now an endpoint's headers take 8 KiB at most.
    const heavy = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`x-h-${i}`, 'v'.repeat(4000)]));
    const refused = await push('POST', '/endpoints', { url: `${receiver.url}/heavy`, headers: heavy }, other);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatch(/headers take at most 8192 bytes/);

    // The byte quota: 64 KiB here, about seven endpoints with 8 KB of headers each.
    const bytes = await as('quota-bytes');
    let created = 0;
    let last: Awaited<ReturnType<typeof push>>;
    do {
      last = await push('POST', '/endpoints', { id: `b${created}`, url: `${receiver.url}/bytes`, headers: bigHeaders }, bytes);
      if (last.status === 201) created++;
    } while (last.status === 201 && created < 20);
    expect(created).toBeGreaterThan(3);
    expect(created).toBeLessThan(10);
    expect(last.status).toBe(400);
    expect(last.body.error).toMatch(/^a namespace's endpoints and event types take at most 65536 bytes as JSON/);

    // The others deliver as before.
    const sink = receiver.script('/quota-other', 200);
    expect((await push('POST', '/endpoints', { id: 'sink', url: sink, eventTypes: ['o.#'] }, other)).status).toBe(201);
    expect((await push('POST', '/events', { id: 'other-1', type: 'o.k' }, other)).status).toBe(202);
    await eventually(async () => expect(receiver.to('/quota-other')).toHaveLength(1), 15_000, 100);
    expect((await push('GET', '/endpoints', undefined, full)).body.endpoints).toHaveLength(50);
  }, 60_000);

  test('an unpartitioned registry from before is moved into per-namespace ones at start', async () => {
    const { client } = ferry.env;
    const legacyEndpoint = newEndpoint({ namespace: 'legacy-ns', id: 'old-one' }, { ...DEFAULT_SETTINGS, url: `${receiver.url}/legacy` }, 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 1);
    await client.workflow.start('EndpointRegistryWorkflow', {
      workflowId: LEGACY_ENDPOINT_REGISTRY_WORKFLOW_ID,
      taskQueue: indexTaskQueue(ferry.config.FERRY_TASK_QUEUE),
      args: [{ policy: healthPolicy(ferry.config), table: { version: 3, endpoints: [legacyEndpoint], eventTypes: [] } }],
    });
    const directory = new EndpointDirectory(client, {
      taskQueue: ferry.config.FERRY_TASK_QUEUE,
      policy: healthPolicy(ferry.config),
      quotas: endpointQuotas(ferry.config),
      refreshMs: 200,
      onRefreshError: (err) => pino().error(err),
    });
    await directory.start();
    await directory.stop();
    expect((await client.workflow.getHandle(LEGACY_ENDPOINT_REGISTRY_WORKFLOW_ID).describe()).status.name).toBe('TERMINATED');
    // The running API sees it through the catalog.
    const legacy = await as('legacy-ns');
    await eventually(async () => expect((await push('GET', '/endpoints/old-one', undefined, legacy)).status).toBe(200), 10_000, 200);
  });
});
