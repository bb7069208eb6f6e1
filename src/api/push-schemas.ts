import { createHash } from 'node:crypto';
import { z } from 'zod';
import { SCHEMA_LIMITS } from '../push/event-schemas';
import { retryDelaysMs } from '../push/retry-delays';
import { isWebhookSecret, publicKeyOf, schemeOf } from '../push/signing';
import type { Endpoint, EndpointSettings } from '../workflows/endpoints.messages';
import { queueName, UINT32_MAX } from './params';

/** A string with no lone UTF-16 surrogate: one cannot be encoded into a workflow id or any UTF-8 field. */
const isWellFormed = (s: string) => !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);

const WORD = '[-_A-Za-z0-9]+';
/** An endpoint's custom headers, names and values together: they travel with every delivery. */
const MAX_HEADER_BYTES = 8 * 1024;
/** What reads show in place of a custom header's value. */
const HIDDEN = '[hidden]';
export const EVENT_TYPE = new RegExp(`^${WORD}(\\.${WORD})*$`);
const PATTERN = new RegExp(`^(\\*|#|${WORD})(\\.(\\*|#|${WORD}))*$`);

export const namespaceParams = z.object({ namespace: z.string().regex(/^[-_A-Za-z0-9]{1,255}$/, 'invalid namespace') });
export const endpointId = z.string().regex(/^[-_A-Za-z0-9]{1,64}$/, 'endpoint ids are 1-64 of A-Z a-z 0-9 - _');
export const eventId = z.string().regex(/^[-_.:A-Za-z0-9]{1,200}$/, 'event ids are 1-200 of A-Z a-z 0-9 - _ . :');
export const eventType = z.string().max(256).regex(EVENT_TYPE, 'event types are dot-separated words of A-Z a-z 0-9 - _');
export const endpointParams = namespaceParams.extend({ id: endpointId });
export const eventParams = namespaceParams.extend({ id: eventId });

const secret = z
  .string()
  .refine(isWebhookSecret, 'a secret is whsec_ + base64 of 24 to 64 bytes (HMAC), or whsk_ + base64 of a 32-byte Ed25519 seed');
/** `v1`: HMAC-SHA256 with a shared secret; `v1a`: Ed25519, receivers verify with the public key. */
const signatureScheme = z.enum(['v1', 'v1a']);
/**
 * Headers Ferry sets itself, and hop-by-hop headers that describe one connection rather than the
 * request (an endpoint given `expect` or `upgrade` would fail every delivery).
 */
const RESERVED_HEADERS =
  /^(webhook-.*|content-type|content-length|host|user-agent|connection|keep-alive|transfer-encoding|te|trailers?|upgrade|expect|proxy-.*)$/i;
const headerName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/, 'invalid header name');
/** Visible ASCII, spaces and tabs: what every HTTP client sends as it is. */
const headerValue = z.string().max(4096).regex(/^[\t\x20-\x7e]*$/, 'header values are visible ASCII, spaces and tabs (no control characters, no non-ASCII)');

const auth = z.discriminatedUnion('type', [
  z.object({ type: z.literal('none') }),
  z.object({ type: z.literal('basic'), username: z.string().min(1).max(256).regex(/^[^:\r\n]*$/), password: headerValue }),
  z.object({ type: z.literal('bearer'), token: headerValue.min(1) }),
  z.object({
    type: z.literal('header'),
    name: headerName.refine((n) => !RESERVED_HEADERS.test(n), 'this header is set by Ferry'),
    value: headerValue,
  }),
]);

const dataPath = z.string().max(256).regex(/^[-_A-Za-z0-9]+(\.[-_A-Za-z0-9]+)*$/, 'paths are dot-separated keys of data, e.g. customer.region');
const scalar = z.union([z.string().max(1024), z.number(), z.boolean(), z.null()]);
/** A condition on the event's data; an endpoint gets an event only when all of its conditions hold. */
const dataCondition = z.discriminatedUnion('op', [
  z.object({ path: dataPath, op: z.enum(['eq', 'ne', 'gt', 'gte', 'lt', 'lte']), value: scalar }),
  z.object({ path: dataPath, op: z.literal('in'), value: z.array(scalar).min(1).max(100) }),
  z.object({ path: dataPath, op: z.literal('exists'), value: z.boolean().default(true) }),
]);

const WEEK_MS = 7 * 86_400_000;

/** A pulled subscription's queue; its jobs take a publish's bounds. */
const queueDestination = z.object({
  name: queueName,
  tries: z.number().int().min(1).max(65535).default(3).describe('the jobs\' tries: a consumer that does not ack gets the job again this many times in all'),
  ttl: z.number().int().min(0).max(UINT32_MAX).default(0).describe('seconds a job waits to be consumed; 0 = until it is'),
});

const backoff = z
  .object({
    initialDelayMs: z.number().int().min(1).max(WEEK_MS),
    maxDelayMs: z.number().int().min(1).max(WEEK_MS),
    factor: z.number().min(1).max(100),
    maxRetries: z.number().int().min(0).max(20),
  })
  .refine((b) => b.maxDelayMs >= b.initialDelayMs, 'maxDelayMs must be at least initialDelayMs')
  .describe('retry n (from 0) waits min(maxDelayMs, initialDelayMs * factor^n); replaces retrySchedule');

/** What a user may set on an endpoint; every field optional (create fills defaults, update keeps values). */
const endpointFields = z.object({
  url: z
    .url({ protocol: /^https?$/, error: 'url must be an http(s) URL' })
    .max(2048)
    .refine((u) => !URL.canParse(u) || (new URL(u).username === '' && new URL(u).password === ''), 'credentials in the url are not sent; use auth'),
  queue: queueDestination.describe('instead of a url: every matching event becomes a job in this queue of the namespace'),
  description: z.string().max(1024),
  eventTypes: z.array(z.string().max(256).regex(PATTERN, 'patterns are dot-separated words, * or #')).min(1).max(100),
  auth,
  headers: z
    .record(headerName, headerValue)
    .refine((h) => Object.keys(h).length <= 50, 'at most 50 headers')
    .refine((h) => Object.entries(h).reduce((sum, [n, v]) => sum + n.length + v.length, 0) <= MAX_HEADER_BYTES, `headers take at most ${MAX_HEADER_BYTES} bytes (names and values)`)
    .refine((h) => !Object.keys(h).some((n) => RESERVED_HEADERS.test(n)), 'webhook-*, content-type, host, user-agent and hop-by-hop headers are set by Ferry')
    .refine((h) => !Object.keys(h).some((n) => n.toLowerCase() === 'authorization'), 'authorization comes from auth (basic, bearer or header)')
    .refine((h) => new Set(Object.keys(h).map((n) => n.toLowerCase())).size === Object.keys(h).length, 'header names differ only in case'),
  timeoutMs: z.number().int().min(100).max(120_000),
  retrySchedule: z.array(z.number().int().min(0).max(7 * 86400)).max(20),
  backoff: backoff.nullable(),
  rateLimit: z.number().int().min(1).max(10_000).nullable(),
  ordering: z.boolean(),
  dataFilter: z.array(dataCondition).max(20),
  deadLetters: z.boolean().describe('a dead-letter sink: gets the namespace\'s dead deliveries whose type matches eventTypes, instead of events'),
}).partial();

const oneDestination = (s: { url?: string; queue?: unknown }) => s.url === undefined || s.queue === undefined;
const oneRetryRule = (s: { retrySchedule?: unknown; backoff?: unknown }) => s.retrySchedule === undefined || s.backoff === undefined || s.backoff === null;

/** An update: a new url replaces a queue and the other way round; a retrySchedule replaces a backoff. */
export const endpointSettings = endpointFields
  .refine(oneDestination, 'give url or queue, not both')
  .refine(oneRetryRule, 'give retrySchedule or backoff, not both');

export const DEFAULT_SETTINGS: Omit<EndpointSettings, 'url'> = {
  description: '',
  eventTypes: ['#'],
  auth: { type: 'none' },
  headers: {},
  timeoutMs: 30_000,
  retrySchedule: [10, 30, 90],
  backoff: null,
  rateLimit: null,
  ordering: false,
  dataFilter: [],
  queue: null,
  deadLetters: false,
};

export const createEndpointBody = endpointFields
  .extend({
    id: endpointId.optional(),
    /** Bring your own secret (e.g. when moving from another service); otherwise Ferry makes one. */
    secret: secret.optional(),
    /** The scheme of the secret Ferry makes (ignored when `secret` is given). */
    signatureScheme: signatureScheme.default('v1'),
  })
  .refine((s) => (s.url === undefined) !== (s.queue === undefined), 'give url or queue, one of them')
  .refine(oneRetryRule, 'give retrySchedule or backoff, not both');

export const rotateSecretBody = z.object({
  secret: secret.optional(),
  /** The scheme of the secret Ferry makes; the current secret's when absent. */
  signatureScheme: signatureScheme.optional(),
  /** How long the old secret keeps signing next to the new one. */
  overlapSeconds: z.number().int().min(0).max(30 * 86400).default(86400),
});

export const disableBody = z.object({ reason: z.string().max(1024).optional() }).default({});
export const enableBody = z.object({ replayHeld: z.boolean().default(true) }).default({ replayHeld: true });

const healthView = z.object({
  state: z.enum(['healthy', 'failing', 'paused']),
  consecutiveFailures: z.number().int(),
  failingSince: z.string().nullable(),
  pausedUntil: z.string().nullable(),
  lastError: z.string().nullable(),
});

/**
 * An endpoint as the API shows it: secrets, credentials and custom header values (API keys) are
 * never shown again after creation; a secret shows a fingerprint to tell keys apart.
 */
export const endpointView = z.object({
  id: z.string(),
  url: z.string().nullable(),
  queue: z.object({ name: z.string(), tries: z.number().int(), ttl: z.number().int() }).nullable(),
  description: z.string(),
  eventTypes: z.array(z.string()),
  auth: z.object({ type: z.string(), username: z.string().optional(), name: z.string().optional() }),
  headers: z.record(z.string(), z.literal(HIDDEN)).describe('the custom header names; their values are not shown'),
  timeoutMs: z.number().int(),
  retrySchedule: z.array(z.number().int()),
  backoff: z.object({ initialDelayMs: z.number().int(), maxDelayMs: z.number().int(), factor: z.number(), maxRetries: z.number().int() }).nullable(),
  retryDelaysMs: z.array(z.number().int()).describe('the wait before each retry, from the backoff or the schedule'),
  rateLimit: z.number().int().nullable(),
  ordering: z.boolean(),
  dataFilter: z.array(z.object({ path: z.string(), op: z.string(), value: z.unknown().optional() })),
  deadLetters: z.boolean(),
  enabled: z.boolean(),
  disabledReason: z.string().nullable(),
  secrets: z.array(
    z.object({
      scheme: signatureScheme,
      hint: z.string(),
      /** For `v1a` keys: what receivers verify with. */
      publicKey: z.string().nullable(),
      expiresAt: z.string().nullable(),
    }),
  ),
  health: healthView,
  createdAt: z.string(),
  updatedAt: z.string(),
});

/** The secret's prefix and a fingerprint of it (SHA-256): tells keys apart, reveals nothing of them. */
const secretHint = (secret: string) => `${secret.slice(0, secret.indexOf('_') + 1)}…${createHash('sha256').update(secret).digest('hex').slice(0, 8)}`;

const iso = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : new Date(ms).toISOString());

export function toEndpointView(e: Endpoint, now = Date.now()): z.infer<typeof endpointView> {
  const { auth: a } = e;
  return {
    id: e.id,
    url: e.url,
    queue: e.queue ?? null,
    description: e.description,
    eventTypes: e.eventTypes,
    auth: a.type === 'basic' ? { type: a.type, username: a.username } : a.type === 'header' ? { type: a.type, name: a.name } : { type: a.type },
    headers: Object.fromEntries(Object.keys(e.headers).map((name) => [name, HIDDEN])),
    timeoutMs: e.timeoutMs,
    retrySchedule: e.retrySchedule,
    backoff: e.backoff ?? null,
    retryDelaysMs: retryDelaysMs(e),
    rateLimit: e.rateLimit,
    ordering: e.ordering,
    dataFilter: e.dataFilter ?? [],
    deadLetters: e.deadLetters ?? false,
    enabled: e.enabled,
    disabledReason: e.disabledReason,
    secrets: e.keys
      .filter((k) => k.expiresAt === undefined || k.expiresAt > now)
      .map((k) => ({ scheme: schemeOf(k.secret), hint: secretHint(k.secret), publicKey: publicKeyOf(k.secret), expiresAt: iso(k.expiresAt) })),
    health: {
      state: e.health.state,
      consecutiveFailures: e.health.consecutiveFailures,
      failingSince: iso(e.health.failingSince),
      pausedUntil: iso(e.health.pausedUntil),
      lastError: e.health.lastError,
    },
    createdAt: iso(e.createdAt)!,
    updatedAt: iso(e.updatedAt)!,
  };
}

const YEAR_S = 365 * 86400;

/** An event as published. */
export const publishBody = z
  .object({
    id: eventId.optional(),
    type: eventType,
    timestamp: z.iso.datetime({ offset: true }).optional(),
    source: z.string().max(256).optional(),
    correlationId: z.string().max(256).optional(),
    data: z.unknown().optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
    /** Deliver to these endpoints only, whatever their patterns. */
    endpoints: z.array(endpointId).min(1).max(100).optional(),
    /** Deliveries to endpoints with ordering on reach them in publish order per key. */
    orderingKey: z.string().min(1).max(256).refine(isWellFormed, 'orderingKey must be well-formed Unicode (no lone surrogates)').optional(),
    deliverAt: z.iso.datetime({ offset: true }).optional().describe('no delivery starts before this time'),
    delay: z.number().int().min(0).max(YEAR_S).optional().describe('or: seconds from now before deliveries start'),
    expiresAt: z.iso.datetime({ offset: true }).optional().describe('a delivery not made by this time is dropped and shows as expired'),
    ttl: z.number().int().min(1).max(YEAR_S).optional().describe('or: seconds from now until deliveries expire'),
  })
  .refine((e) => e.deliverAt === undefined || e.delay === undefined, 'give deliverAt or delay, not both')
  .refine((e) => e.expiresAt === undefined || e.ttl === undefined, 'give expiresAt or ttl, not both')
  .refine((e) => e.orderingKey === undefined || (e.deliverAt === undefined && !e.delay), 'an event with an orderingKey cannot be delayed: it keeps its place in line');
export type PublishBody = z.infer<typeof publishBody>;

export const MAX_BATCH_EVENTS = 100;
export const publishBatchBody = z.object({ events: z.array(publishBody).min(1).max(MAX_BATCH_EVENTS) });

export const publishedView = z.object({ id: z.string(), endpoints: z.array(z.string()), replayed: z.boolean() });

const attemptView = z.object({
  attempt: z.number().int(),
  at: z.string(),
  durationMs: z.number().int().nullable(),
  status: z.number().int().nullable(),
  error: z.string().nullable(),
  outcome: z.string(),
  responseExcerpt: z.string().optional(),
  nextRetryMs: z.number().int().optional().describe('for an attempt to be retried: the wait before the next one'),
});
export type AttemptView = z.infer<typeof attemptView>;

const statusEnum = z.enum(['pending', 'pushing', 'push_success', 'push_failed', 'expired']);

export const eventView = z.object({
  id: z.string(),
  type: z.string(),
  status: statusEnum,
  event: z.record(z.string(), z.unknown()),
  orderingKey: z.string().nullable(),
  deliverAt: z.string().nullable(),
  expiresAt: z.string().nullable(),
  deliveries: z.array(
    z.object({
      endpointId: z.string(),
      status: statusEnum,
      attempts: z.array(attemptView),
      pausedUntil: z.string().nullable(),
      expiredAt: z.string().nullable(),
      droppedAt: z.string().nullable().describe('when the retention dropped it from the dead letter'),
      deadLetter: z.object({ reason: z.string(), held: z.boolean(), at: z.string() }).nullable(),
    }),
  ),
});

const timeFilter = {
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
};
export const eventListQuery = z.object({ type: eventType.optional(), status: statusEnum.optional(), ...timeFilter });
export const eventListView = z.object({
  events: z.array(z.object({ id: z.string(), type: z.string(), status: statusEnum, endpoints: z.array(z.string()), createdAt: z.string() })),
});

export const traceView = z.object({
  id: z.string(),
  attempts: z.array(attemptView.extend({ endpointId: z.string() })),
});

export const repushEventBody = z.object({ endpoints: z.array(endpointId).min(1).optional() }).default({});
export const countView = z.object({ count: z.number().int() });

const booleanQuery = z.enum(['true', 'false']).transform((v) => v === 'true');
/** An event type, or a pattern of them (`billing.*`, `orders.#`). */
const typePattern = z.string().max(256).regex(PATTERN, 'types and patterns are dot-separated words, * or #');
export const deadLetterQuery = z.object({ endpoint: endpointId.optional(), type: typePattern.optional(), held: booleanQuery.optional(), ...timeFilter });
export const deadLetterView = z.object({
  deliveries: z.array(
    z.object({
      eventId: z.string(),
      type: z.string().describe('the route: the event type the delivery was for'),
      endpointId: z.string(),
      host: z.string().nullable().describe('the endpoint\'s URL host (null for a queue destination or a deleted endpoint)'),
      queue: z.string().nullable().describe('the endpoint\'s queue, for a queue destination'),
      reason: z.string().describe('the error that ended the delivery'),
      held: z.boolean(),
      failedAt: z.string(),
      attempts: z.number().int().nullable().describe('attempts made (null in dead letters from before it was recorded)'),
    }),
  ),
});
/** Bulk re-push or delete: which deliveries, how many at most, and whether only to count them. */
export const deadLetterBulkBody = z
  .object({
    endpoint: endpointId.optional(),
    type: typePattern.optional(),
    since: timeFilter.since,
    until: timeFilter.until,
    heldOnly: z.boolean().optional(),
    limit: z.number().int().min(1).max(100_000).optional(),
    dryRun: z.boolean().default(false),
  })
  .default({ dryRun: false });
export const bulkView = z.object({ count: z.number().int(), dryRun: z.boolean() });

const jsonSchema = z
  .record(z.string(), z.unknown())
  .refine((s) => Buffer.byteLength(JSON.stringify(s)) <= SCHEMA_LIMITS.maxBytes, `a schema is at most ${SCHEMA_LIMITS.maxBytes} bytes of JSON`)
  .describe(
    `a JSON Schema (draft-07) for the data of events of this type: no $async, no $id below the root, $ref only into the same schema and not recursive, ` +
      `at most ${SCHEMA_LIMITS.maxDepth} levels and ${SCHEMA_LIMITS.maxExpandedNodes} subschemas with $ref expanded; patterns use RE2 syntax; format is not checked`,
  );
/** An event type of the namespace's catalog: publishes of it are validated against its schema. */
export const eventTypeBody = z.object({ name: eventType, description: z.string().max(1024).default(''), schema: jsonSchema.nullable().default(null) });
export const eventTypeUpdateBody = z.object({ description: z.string().max(1024).optional(), schema: jsonSchema.nullable().optional() });
export const eventTypeParams = namespaceParams.extend({ name: eventType });
export const eventTypeView = z.object({
  name: z.string(),
  description: z.string(),
  schema: z.record(z.string(), z.unknown()).nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const eventTypeListView = z.object({ eventTypes: z.array(eventTypeView) });

export const createdEndpointView = endpointView.extend({
  secret: z.string().describe('shown only here'),
  publicKey: z.string().nullable().describe('for v1a: what receivers verify with'),
});
export const endpointListView = z.object({ endpoints: z.array(endpointView) });
export const enabledView = z.object({ endpoint: endpointView, replayed: z.number().int().describe('held deliveries re-pushed') });
export const rotatedView = z.object({ secret: z.string(), publicKey: z.string().nullable(), previousSecretsExpireAt: z.string() });
export const publishedBatchView = z.object({ events: z.array(publishedView) });
