import { connect } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Dispatcher } from 'undici';
import { Agent, request } from 'undici';
import type { FerryUnderTest } from '../helpers/ferry';
import { useFerry } from '../helpers/ferry';

/**
 * `npm run test:fuzz`: generated malformed requests against every route of both servers, seeded and
 * repeatable (FERRY_FUZZ_SEED, FERRY_FUZZ_REQUESTS). Every one must get a 4xx with a JSON error; none
 * may change state; the process's memory stays bounded; slow clients are cut off and do not stall
 * others. The classes include schemas the subset refuses, fan-out and registries past Temporal's
 * limits, HEAD and other methods on every route, and encodings that cannot be processed.
 */
const SEED = Number(process.env.FERRY_FUZZ_SEED ?? 20261124);
const REQUESTS = Number(process.env.FERRY_FUZZ_REQUESTS ?? 10_000);
const CONCURRENCY = 16;
const ns = 'fuzz';

jest.setTimeout(30 * 60_000);

// Heap sizes are compared after a full collection; without one they swing by 100 MiB with GC timing.
setFlagsFromString('--expose_gc');
const collectGarbage = runInNewContext('gc') as () => void;
const heapUsed = () => {
  collectGarbage();
  return process.memoryUsage().heapUsed;
};

let ferry: FerryUnderTest;
let token: string;
let otherToken: string;

/** The fuzzed namespace is kept at its endpoint quota, so any endpoint that would be valid is refused too. */
const ENDPOINT_QUOTA = 42;
/** Endpoints with 64-character ids: naming 29 of them overflows what one push may name. */
const wideIds = Array.from({ length: ENDPOINT_QUOTA - 1 }, (_, i) => `${String(i).padStart(2, '0')}${'w'.repeat(62)}`);
const REQUEST_TIMEOUT_MS = 4000;

useFerry(
  async (started) => {
    ferry = started;
    token = await started.token(ns);
    otherToken = await started.token('other');
  },
  { FERRY_PUSH_MAX_ENDPOINTS: String(ENDPOINT_QUOTA), FERRY_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) },
);

/** mulberry32: a small seeded generator, so a failing run can be replayed exactly. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Attack {
  kind: string;
  server: 'queue' | 'admin';
  method: Dispatcher.HttpMethod;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /**
   * Requests lmstfy answers as an idempotent no-op (ack of a job id that is not there, deleting a
   * limit that is not there): a 2xx is right, but they must change nothing either.
   */
  noop?: true;
}

/** The generator of malformed requests; each `kind` is a way a request can be wrong. */
function attacks(rand: () => number) {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
  const int = (max: number) => Math.floor(rand() * max);
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  const auth = () => ({ 'x-token': token });
  const json = { 'content-type': 'application/json' };

  // Names that the name rules (^[-_A-Za-z0-9]+$, < 256) refuse, URL-encoded as a client would send them.
  const badNames = [
    'caf\u00e9', 'a b', 'a.b', 'a/b', '..', '.', 'x'.repeat(256 + int(2000)), 'a\u0000b', 'a\r\nb', '\u{1F600}', 'a%b', 'a?b', 'a#b', "a'b", 'a"b',
    'a<script>', '\u202e', '\t',
  ].map(encodeURIComponent);
  const badSeconds = ['-1', 'abc', '1.5', '4294967296', '99999999999999999999', '1e3x', '0x10', 'NaN', 'Infinity', '-0.5', '١٢'];
  const badTokens = [
    () => ({}),
    () => ({ 'x-token': '' }),
    () => ({ 'x-token': bytes(20).toString('base64') }),
    () => ({ 'x-token': otherToken }),
    () => ({ 'x-token': `other:${token}` }),
    () => ({ 'x-token': `${token}x` }),
    () => ({ 'x-token': token.slice(1) }),
    () => ({ authorization: `Bearer ${bytes(16).toString('hex')}` }),
  ];
  const queuePath = (rest = '') => `/api/${ns}/q${rest}`;
  // Every route of both servers, with its parameters filled in.
  const routePaths = [
    queuePath(), queuePath('?timeout=1'), queuePath('/peek'), queuePath('/size'), queuePath('/job/01M85K4VKQM2DEZHRPY7MAJD8V'), queuePath('/bulk'),
    queuePath('/deadletter'), queuePath('/deadletter/size'), `/push/${ns}/endpoints`, `/push/${ns}/endpoints/kept`, `/push/${ns}/endpoints/kept/enable`,
    `/push/${ns}/endpoints/kept/disable`, `/push/${ns}/endpoints/kept/rotate-secret`, `/push/${ns}/event-types`, `/push/${ns}/event-types/kept.redos`,
    `/push/${ns}/events`, `/push/${ns}/events/batch`, `/push/${ns}/events/x`, `/push/${ns}/events/x/trace`, `/push/${ns}/events/x/repush`,
    `/push/${ns}/deadletter`, `/push/${ns}/deadletter/repush`, `/push/${ns}/deadletter/delete`, `/push/${ns}/deadletter/x`, '/openapi.json',
    `/token/${ns}`, `/token/${ns}/${token}`, `/token/${ns}/${token}/limit`, '/limits', '/info', '/pools', '/version', '/metrics', '/health', '/ready',
  ];

  const makers: (() => Attack)[] = [
    // Queue API: bad names in every position.
    () => ({ kind: 'bad queue name', server: 'queue', method: 'PUT', path: `/api/${ns}/${pick(badNames)}`, headers: auth(), body: 'x' }),
    () => ({ kind: 'bad namespace', server: 'queue', method: 'PUT', path: `/api/${pick(badNames)}/q`, headers: auth(), body: 'x' }),
    () => ({ kind: 'bad consume name', server: 'queue', method: 'GET', path: `/api/${ns}/q,${pick(badNames)}`, headers: auth() }),
    () => ({ kind: 'bad size name', server: 'queue', method: 'GET', path: `/api/${ns}/${pick(badNames)}/size` }),
    () => ({ kind: 'ack of a malformed job id', server: 'queue', method: 'DELETE', path: queuePath(`/job/${pick(badNames)}`), headers: auth(), noop: true }),
    () => ({ kind: 'peek of a malformed job id', server: 'queue', method: 'GET', path: queuePath(`/job/${pick(badNames)}`), headers: auth() }),
    // Bad numbers for every numeric parameter.
    () => ({ kind: 'bad publish number', server: 'queue', method: 'PUT', path: queuePath(`?${pick(['delay', 'ttl', 'tries'])}=${pick(badSeconds)}`), headers: auth(), body: 'x' }),
    () => ({ kind: 'bad tries', server: 'queue', method: 'PUT', path: queuePath(`?tries=${pick(['0', '65536'])}`), headers: auth(), body: 'x' }),
    () => ({ kind: 'ttl shorter than delay', server: 'queue', method: 'PUT', path: queuePath(`?delay=${100 + int(100)}&ttl=${1 + int(99)}`), headers: auth(), body: 'x' }),
    () => ({ kind: 'bad consume number', server: 'queue', method: 'GET', path: queuePath(`?${pick(['ttr', 'timeout', 'count'])}=${pick(badSeconds)}`), headers: auth() }),
    () => ({ kind: 'bad count', server: 'queue', method: 'GET', path: queuePath(`?count=${pick(['0', '101', '100000'])}`), headers: auth() }),
    () => ({ kind: 'bad respawn ttl', server: 'queue', method: 'PUT', path: queuePath(`/deadletter?ttl=${pick(badSeconds)}`), headers: auth() }),
    () => ({ kind: 'bad dead-letter limit', server: 'queue', method: pick(['PUT', 'DELETE'] as const), path: queuePath(`/deadletter?limit=${pick(['0', '-1', 'abc', '1.5', '99999999999999999999', 'NaN'])}`), headers: auth() }),
    // Tokens.
    () => ({ kind: 'bad token, publish', server: 'queue', method: 'PUT', path: queuePath(), headers: pick(badTokens)(), body: 'x' }),
    () => ({ kind: 'bad token, consume', server: 'queue', method: 'GET', path: queuePath('?ttr=1'), headers: pick(badTokens)() }),
    () => ({ kind: 'bad token, ack', server: 'queue', method: 'DELETE', path: queuePath('/job/01M85K4VKQM2DEZHRPY7MAJD8V'), headers: pick(badTokens)() }),
    () => ({ kind: 'bad token, destroy', server: 'queue', method: 'DELETE', path: queuePath(), headers: pick(badTokens)() }),
    () => ({ kind: 'bad token, push', server: 'queue', method: pick(['GET', 'POST']), path: `/push/${ns}/${pick(['endpoints', 'events', 'deadletter', 'event-types'])}`, headers: { ...pick(badTokens)(), ...json }, body: '{}' }),
    () => ({ kind: 'token in query with CRLF', server: 'queue', method: 'GET', path: queuePath(`?token=${encodeURIComponent(`${token}\r\nX-Evil: 1`)}`) }),
    // Bodies.
    () => ({ kind: 'oversize job', server: 'queue', method: 'PUT', path: queuePath(), headers: auth(), body: bytes(64 * 1024 + int(64 * 1024)) }),
    () => ({ kind: 'bulk not JSON', server: 'queue', method: 'PUT', path: queuePath('/bulk'), headers: auth(), body: bytes(1 + int(200)) }),
    () => ({ kind: 'bulk not an array', server: 'queue', method: 'PUT', path: queuePath('/bulk'), headers: auth(), body: pick(['{}', '"x"', '1', 'null', '[', '[1,]', '']) }),
    () => ({ kind: 'bulk too long', server: 'queue', method: 'PUT', path: queuePath('/bulk'), headers: auth(), body: JSON.stringify(Array.from({ length: 65 + int(100) }, (_, i) => i)) }),
    () => ({ kind: 'push body not JSON', server: 'queue', method: 'POST', path: `/push/${ns}/${pick(['endpoints', 'events', 'events/batch', 'event-types'])}`, headers: { ...auth(), ...json }, body: bytes(1 + int(500)) }),
    () => ({ kind: 'push body wrong type', server: 'queue', method: 'POST', path: `/push/${ns}/events`, headers: { ...auth(), 'content-type': pick(['text/plain', 'application/octet-stream', 'multipart/form-data; boundary=x']) }, body: '{"type":"a.b"}' }),
    () => ({ kind: 'deep JSON', server: 'queue', method: 'POST', path: `/push/${ns}/${pick(['events', 'endpoints', 'event-types'])}`, headers: { ...auth(), ...json }, body: `{"type":"a.b","url":"http://x","name":"a","data":${'['.repeat(1000 + int(100_000))}` }),
    () => ({ kind: 'oversize event', server: 'queue', method: 'POST', path: `/push/${ns}/events`, headers: { ...auth(), ...json }, body: JSON.stringify({ type: 'a.b', data: 'x'.repeat(300_000 + int(300_000)) }) }),
    () => {
      const wrong: Record<string, unknown>[] = [
        { url: 123 }, { url: 'ftp://x/' }, { url: 'http://x/', eventTypes: 'x' }, { url: 'http://x/', eventTypes: ['a b'] }, { url: 'http://x/', timeoutMs: -5 },
        { url: 'http://x/', retrySchedule: [1e12] }, { url: 'http://x/', headers: { 'x-a': 'a\r\nb' } }, { url: 'http://x/', auth: { type: 'weird' } },
        { url: 'http://x/', id: 'a/b' }, { url: 'http://x/', secret: 'whsec_short' }, { url: 'http://x/', rateLimit: 0 }, { url: 'http://x/', dataFilter: [{ path: 'a', op: 'in', value: 1 }] },
        { url: 'http://x/', headers: { host: 'evil' } }, { url: 'http://x/'.padEnd(3000, 'x') }, { url: 'http://x/', ordering: 'yes' }, { url: 'http://x/', signatureScheme: 'v2' },
      ];
      return { kind: 'bad endpoint', server: 'queue', method: 'POST', path: `/push/${ns}/endpoints`, headers: { ...auth(), ...json }, body: JSON.stringify(pick(wrong)) };
    },
    () => {
      const wrong: Record<string, unknown>[] = [
        {}, { type: '' }, { type: 'a b' }, { type: 'a..b' }, { type: 'x'.repeat(300) }, { type: 'a', id: 'a/b' }, { type: 'a', timestamp: 'yesterday' },
        { type: 'a', endpoints: ['nope'] }, { type: 'a', endpoints: [] }, { type: 'a', metadata: 'x' }, { type: 'a', orderingKey: '' }, { type: 7 },
      ];
      return { kind: 'bad event', server: 'queue', method: 'POST', path: `/push/${ns}/events`, headers: { ...auth(), ...json }, body: JSON.stringify(pick(wrong)) };
    },
    () => ({ kind: 'bad event batch', server: 'queue', method: 'POST', path: `/push/${ns}/events/batch`, headers: { ...auth(), ...json }, body: JSON.stringify(pick([{ events: [] }, { events: [{}] }, { events: Array.from({ length: 101 }, () => ({ type: 'a' })) }, { events: [{ id: 'same', type: 'a' }, { id: 'same', type: 'a' }] }, []])) }),
    () => ({ kind: 'bad event type', server: 'queue', method: 'POST', path: `/push/${ns}/event-types`, headers: { ...auth(), ...json }, body: JSON.stringify(pick([{ name: 'a b' }, { name: 'a', schema: { type: 'nope' } }, { name: 'a', schema: 'x' }, { name: 'a', schema: { minimum: 'x' } }, {}])) }),
    () => ({ kind: 'unknown push object', server: 'queue', method: pick(['GET', 'PATCH', 'DELETE']), path: `/push/${ns}/${pick(['endpoints', 'event-types'])}/${pick(['missing', ...badNames])}`, headers: { ...auth(), ...json }, body: pick(['{}', undefined]) }),
    () => ({ kind: 'bad event query', server: 'queue', method: 'GET', path: `/push/${ns}/events?${pick(['limit=0', 'limit=abc', 'limit=1001', 'since=yesterday', 'until=1', 'status=nope', 'type=a%20b'])}`, headers: auth() }),
    () => ({ kind: 'bad dead-letter query', server: 'queue', method: 'GET', path: `/push/${ns}/deadletter?${pick(['limit=0', 'limit=abc', 'since=yesterday', 'type=a%20b', 'held=maybe', 'endpoint=a%2Fb'])}`, headers: auth() }),
    // Event-type schemas the subset refuses, and data that would make a backtracking engine spin.
    () => {
      let deep: Record<string, unknown> = { type: 'string' };
      for (let i = 0; i < 33 + int(20); i++) deep = { items: deep };
      const chain: Record<string, unknown> = { d0: { type: 'string' } };
      for (let i = 1; i <= 11 + int(4); i++) chain[`d${i}`] = { anyOf: [{ $ref: `#/definitions/d${i - 1}` }, { $ref: `#/definitions/d${i - 1}` }] };
      const schemas: Record<string, unknown>[] = [
        { $async: true, type: 'object' }, { properties: { a: { $async: true } } }, { $ref: 'https://example.com/x' }, { $ref: '#/definitions/nope' },
        { definitions: { n: { items: { $ref: '#/definitions/n' } } }, $ref: '#/definitions/n' }, { definitions: chain, $ref: `#/definitions/d${Object.keys(chain).length - 1}` },
        deep, { type: 'string', pattern: '(a)\\1' }, { patternProperties: { '(?=x)': {} } }, { type: 'array', uniqueItems: true }, { properties: { a: { $id: 'https://x/a' } } },
        { $schema: 'https://json-schema.org/draft/2020-12/schema' }, { $data: { $ref: '#' } }, { properties: Object.fromEntries(Array.from({ length: 1001 + int(500) }, (_, i) => [`f${i}`, {}])) },
      ];
      const [method, at] = pick([['POST', ''], ['PATCH', '/kept.redos']] as const);
      return { kind: 'refused schema', server: 'queue', method, path: `/push/${ns}/event-types${at}`, headers: { ...auth(), ...json }, body: JSON.stringify({ name: `fz.${int(1000)}`, schema: pick(schemas) }) };
    },
    () => ({ kind: 'backtracking data', server: 'queue', method: 'POST', path: `/push/${ns}/events`, headers: { ...auth(), ...json }, body: JSON.stringify({ type: 'kept.redos', data: { name: `${'a'.repeat(25 + int(100_000))}!` } }) }),
    // Fan-out and registry sizes past Temporal's limits.
    () => ({ kind: 'huge fan-out', server: 'queue', method: 'POST', path: `/push/${ns}/${pick(['events', 'events/batch'])}`, headers: { ...auth(), ...json }, body: ((event) => JSON.stringify(rand() < 0.5 ? event : { events: [event] }))({ type: 'wide.out', endpoints: wideIds.slice(0, 29 + int(wideIds.length - 28)) }) }),
    () => ({ kind: 'endpoint past the quota', server: 'queue', method: 'POST', path: `/push/${ns}/endpoints`, headers: { ...auth(), ...json }, body: JSON.stringify({ url: `http://127.0.0.1:9/${int(1000)}` }) }),
    () => {
      const [method, at] = pick([['POST', ''], ['PATCH', '/kept']] as const);
      const headers = Object.fromEntries(Array.from({ length: 3 + int(47) }, (_, i) => [`x-h-${i}`, 'v'.repeat(4000)]));
      return { kind: 'oversized endpoint headers', server: 'queue', method, path: `/push/${ns}/endpoints${at}`, headers: { ...auth(), ...json }, body: JSON.stringify({ url: 'http://127.0.0.1:9/', headers }) };
    },
    () => ({ kind: 'oversized token description', server: 'admin', method: 'POST', path: `/token/${ns}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `description=${'d'.repeat(1025 + int(900_000))}` }),
    () => ({ kind: 'too many consume queues', server: 'queue', method: 'GET', path: `/api/${ns}/${Array.from({ length: 17 + int(300) }, (_, i) => `q${i}`).join(',')}?timeout=0`, headers: auth() }),
    // Encodings.
    () => ({ kind: 'lone surrogate', server: 'queue', method: 'POST', path: `/push/${ns}/events`, headers: { ...auth(), ...json }, body: `{"type":"kept.x","orderingKey":"k${pick(['\\ud800', '\\udfff', '\\ud83dx', 'x\\udc00'])}"}` }),
    () => ({ kind: 'unsendable header value', server: 'queue', method: 'POST', path: `/push/${ns}/endpoints`, headers: { ...auth(), ...json }, body: JSON.stringify({ url: 'http://127.0.0.1:9/', headers: { 'x-a': pick(['caf\u00e9', 'a\u0007b', '\u0000', 'tab\u007f', '\u{1F600}']) } }) }),
    () => ({ kind: 'refused endpoint hygiene', server: 'queue', method: 'POST', path: `/push/${ns}/endpoints`, headers: { ...auth(), ...json }, body: JSON.stringify(pick<Record<string, unknown>>([{ url: 'http://u:p@127.0.0.1:9/' }, { url: 'http://127.0.0.1:9/', headers: { Authorization: 'x' } }, { url: 'http://127.0.0.1:9/', headers: { expect: '100-continue' } }, { url: 'http://127.0.0.1:9/', headers: { upgrade: 'h2c' } }, { url: 'http://127.0.0.1:9/', headers: { 'x-a': '1', 'X-A': '2' } }])) }),
    () => ({ kind: 'encoded token name', server: 'queue', method: 'GET', path: `/api/${ns}/q?${pick(['%74oken', 't%6Fken', '%54OKEN'])}=${bytes(8).toString('hex')}` }),
    () => ({ kind: 'non-UTF-8 JSON charset', server: 'queue', method: 'POST', path: `/push/${ns}/events`, headers: { ...auth(), 'content-type': 'application/json; charset=utf-16le' }, body: Buffer.from('{"type":"a.b"}', 'utf16le') }),
    // Read-only methods on every route: HEAD must not run a GET handler (a HEAD consume took a job).
    () => ({ kind: 'HEAD', server: pick(['queue', 'admin'] as const), method: 'HEAD', path: pick(routePaths), headers: auth() }),
    () => ({ kind: 'other methods', server: pick(['queue', 'admin'] as const), method: pick(['OPTIONS', 'TRACE'] as const), path: pick(routePaths), headers: auth() }),
    // Methods and paths.
    () => ({ kind: 'wrong method', server: 'queue', method: pick(['PATCH', 'POST', 'OPTIONS', 'TRACE'] as const), path: pick([queuePath(), queuePath('/peek'), queuePath('/size'), queuePath('/deadletter'), `/push/${ns}/events/x/trace`]), headers: auth() }),
    () => ({ kind: 'path traversal', server: pick(['queue', 'admin'] as const), method: 'GET', path: pick(['/api/fuzz/..%2F..%2Fetc%2Fpasswd', '/api/../../etc/passwd', '/push/fuzz/endpoints/..%2F..%2Fx', '/%2e%2e/%2e%2e/etc/passwd', '/token/..%2Ffuzz', '/api/fuzz/q/job/..%2F..%2Fx']), headers: auth() }),
    () => ({ kind: 'unknown route', server: pick(['queue', 'admin'] as const), method: pick(['GET', 'POST', 'PUT', 'DELETE'] as const), path: `/${bytes(8).toString('hex')}/${encodeURIComponent(bytes(4).toString('latin1'))}`, headers: auth() }),
    () => ({ kind: 'long URL', server: pick(['queue', 'admin'] as const), method: 'GET', path: `/api/${ns}/${'q'.repeat(20_000 + int(80_000))}/size` }),
    () => ({ kind: 'huge header', server: 'queue', method: 'GET', path: queuePath('/size'), headers: { 'x-junk': 'j'.repeat(20_000 + int(50_000)) } }),
    // Admin API.
    () => ({ kind: 'bad admin namespace', server: 'admin', method: pick(['POST', 'GET'] as const), path: `/token/${pick(badNames)}?description=x` }),
    () => ({ kind: 'bad limit', server: 'admin', method: pick(['POST', 'PUT'] as const), path: `/token/${ns}/${token}/limit`, headers: json, body: pick(['{', '{"read":-1,"write":1,"interval":1}', '{"read":"a"}', '[]', bytes(40).toString('latin1')]) }),
    () => ({ kind: 'limit of an unknown token', server: 'admin', method: pick(['GET', 'PUT'] as const), path: `/token/${ns}/${bytes(10).toString('hex')}/limit`, headers: json, body: '{"read":1,"write":1,"interval":1}' }),
    () => ({ kind: 'delete limit of an unknown token', server: 'admin', method: 'DELETE', path: `/token/${ns}/${bytes(10).toString('hex')}/limit`, noop: true }),
  ];
  return () => pick(makers)();
}

/** What an observer can see of Ferry's state; a rejected request must change none of it. */
async function snapshot(): Promise<string> {
  const get = async (server: 'queue' | 'admin', path: string, headers: Record<string, string> = {}) => {
    const res = await (server === 'queue' ? ferry.queue(path, { headers }) : ferry.admin(path, { headers }));
    // A peeked job's age moves on by itself.
    return [path, res.status, (await res.text()).replace(/"elapsed_ms":\d+/, '"elapsed_ms":0')];
  };
  const h = { 'x-token': token };
  const state = await Promise.all([
    get('admin', '/info'),
    get('admin', `/token/${ns}`),
    get('admin', '/limits'),
    get('queue', `/api/${ns}/q/size`),
    get('queue', `/api/${ns}/q/peek`, h),
    get('queue', `/api/${ns}/q/deadletter`, h),
    get('queue', `/push/${ns}/endpoints`, h),
    get('queue', `/push/${ns}/event-types`, h),
  ]);
  return JSON.stringify(state);
}

const isJsonError = (text: string) => {
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    return typeof body.error === 'string' || typeof body.msg === 'string';
  } catch {
    return false;
  }
};

test(`${REQUESTS} malformed requests (seed ${SEED}): all 4xx with a JSON error, no state change, bounded memory`, async () => {
  // A little state for rejected requests to leave alone.
  const h = { 'x-token': token };
  await ferry.queue(`/api/${ns}/q?ttl=0`, { method: 'PUT', headers: h, body: 'kept' });
  await ferry.queue(`/push/${ns}/endpoints`, {
    method: 'POST',
    headers: { ...h, 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'kept', url: 'http://127.0.0.1:9/', eventTypes: ['kept.#'] }),
  });
  const setup = async (path: string, body: unknown) => {
    const res = await ferry.queue(`/push/${ns}${path}`, { method: 'POST', headers: { ...h, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(res.status).toBe(201);
  };
  await setup('/event-types', { name: 'kept.redos', schema: { properties: { name: { type: 'string', pattern: '^(a+)+$' } } } });
  for (const id of wideIds) await setup('/endpoints', { id, url: 'http://127.0.0.1:9/', eventTypes: ['wide.#'] });
  const before = await snapshot();

  const next = attacks(random(SEED));
  const dispatcher = new Agent({ connections: CONCURRENCY, headersTimeout: 30_000, bodyTimeout: 30_000 });
  const urls = { queue: ferry.api.queueUrl, admin: ferry.api.adminUrl };
  const findings: string[] = [];
  const byKind = new Map<string, Map<number, number>>();
  let sent = 0;
  let heapAfterWarmup = 0;

  // Slow clients: connections that trickle header lines, or a body, and never finish their request.
  const { port } = new URL(ferry.api.queueUrl);
  const slowStarted = Date.now();
  const slowHeads = Array.from({ length: 10 }, () => connect(Number(port), '127.0.0.1'));
  const slowBodies = Array.from({ length: 10 }, () => connect(Number(port), '127.0.0.1'));
  const cutAfter: number[] = [];
  for (const socket of [...slowHeads, ...slowBodies]) {
    socket.on('error', () => undefined);
    socket.on('close', () => cutAfter.push(Date.now() - slowStarted));
  }
  for (const socket of slowHeads) socket.write(`GET /api/${ns}/q/size HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
  for (const socket of slowBodies) socket.write(`POST /push/${ns}/events HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Token: ${token}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n`);
  let line = 0;
  const trickle = setInterval(() => {
    line++;
    for (const socket of slowHeads) if (!socket.destroyed) socket.write(`x-slow-${line}: 1\r\n`);
    for (const socket of slowBodies) if (!socket.destroyed) socket.write(' ');
  }, 200);

  try {
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (sent < REQUESTS) {
          const n = sent++;
          const attack = next();
          if (n === 1000) heapAfterWarmup = heapUsed();
          let status: number;
          let text: string;
          try {
            const res = await request(`${urls[attack.server]}${attack.path}`, { method: attack.method, headers: attack.headers, body: attack.body, dispatcher });
            status = res.statusCode;
            text = await res.body.text();
          } catch (err) {
            findings.push(`#${n} ${attack.kind} ${attack.method} ${attack.path.slice(0, 120)}: no answer (${String(err)})`);
            continue;
          }
          const counts = byKind.get(attack.kind) ?? new Map<number, number>();
          counts.set(status, (counts.get(status) ?? 0) + 1);
          byKind.set(attack.kind, counts);
          // A HEAD answer has no body to carry the JSON error.
          const answered = attack.noop ? status < 500 : status >= 400 && status < 500 && (attack.method === 'HEAD' || isJsonError(text));
          if (!answered) {
            findings.push(`#${n} ${attack.kind} ${attack.method} ${attack.path.slice(0, 120)} -> ${status} ${text.slice(0, 200)}`);
          }
        }
      }),
    );
    // The server cut every slow client at its request timeout (checked once a second) and kept answering the others.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, slowStarted + REQUEST_TIMEOUT_MS + 3000 - Date.now())));
    expect(cutAfter).toHaveLength(20);
    expect(Math.max(...cutAfter)).toBeLessThan(REQUEST_TIMEOUT_MS + 3000);
    expect((await ferry.admin('/health')).status).toBe(200);
  } finally {
    clearInterval(trickle);
    for (const socket of [...slowHeads, ...slowBodies]) socket.destroy();
    await dispatcher.close();
  }

  const heapGrowthMiB = (heapUsed() - heapAfterWarmup) / 2 ** 20;
  const summary = [...byKind].map(([kind, counts]) => `${kind}: ${[...counts].map(([s, c]) => `${c}x${s}`).join(' ')}`).sort();
  console.log(`fuzz seed ${SEED}, ${REQUESTS} requests, heap growth after warm-up ${heapGrowthMiB.toFixed(1)} MiB\n${summary.join('\n')}`);
  expect(findings.slice(0, 20)).toEqual([]);
  expect(await snapshot()).toBe(before);
  // Every kind of attack was tried, so a seed cannot silently skip a route group.
  expect(byKind.size).toBeGreaterThanOrEqual(Math.min(30, REQUESTS / 50));
  expect(heapGrowthMiB).toBeLessThan(32);
});
