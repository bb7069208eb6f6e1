import { defineQuery, defineUpdate } from '@temporalio/workflow';

/** How Ferry authenticates to an endpoint, besides signing. Secret parts never leave the API again. */
export type EndpointAuth =
  | { type: 'none' }
  | { type: 'basic'; username: string; password: string }
  | { type: 'bearer'; token: string }
  | { type: 'header'; name: string; value: string };

/**
 * A signing secret (`whsec_`: HMAC, signatures `v1`; `whsk_`: Ed25519, signatures `v1a`); during a
 * rotation the old one keeps signing until `expiresAt` (ms).
 */
export interface EndpointKey {
  secret: `whsec_${string}` | `whsk_${string}`;
  expiresAt?: number;
}

export type HealthState = 'healthy' | 'failing' | 'paused';

/** What the circuit breaker knows about an endpoint. */
export interface EndpointHealth {
  state: HealthState;
  consecutiveFailures: number;
  /** Since when every attempt failed (ms); null while healthy. */
  failingSince: number | null;
  /** While paused: no delivery before this time (ms), then one probe. */
  pausedUntil: number | null;
  /** A probe is out until this time (ms); others keep waiting. */
  probeUntil: number | null;
  lastError: string | null;
}

/** One condition on the event's `data`: the value at `path` (dot-separated) compared with `value`. */
export interface DataCondition {
  path: string;
  op: 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte' | 'in' | 'exists';
  /** For `in` a list; for `exists` a boolean; otherwise a JSON scalar. */
  value?: unknown;
}

/**
 * A pulled subscription: instead of HTTP requests, the endpoint's events become jobs in this queue
 * of its namespace, for consumers to fetch with the queue API (several queues on one topic are
 * competing-consumer groups).
 */
export interface QueueDestination {
  name: string;
  /** The jobs' tries and ttl (seconds; 0 = kept until consumed), as on a publish. */
  tries: number;
  ttl: number;
}

/** Retry delays as parameters: `min(maxDelayMs, initialDelayMs * factor^n)` before retry n (from 0). */
export interface Backoff {
  initialDelayMs: number;
  maxDelayMs: number;
  factor: number;
  maxRetries: number;
}

/** The settings a user chooses; everything an endpoint is except its id, keys, state and health. */
export interface EndpointSettings {
  /** Where deliveries are POSTed; null for an endpoint whose destination is a queue. */
  url: string | null;
  /** Absent in registries written before queue destinations existed. */
  queue?: QueueDestination | null;
  description: string;
  /** Topic patterns (`*` one word, `#` zero or more); an endpoint gets events whose type matches one. */
  eventTypes: string[];
  auth: EndpointAuth;
  headers: Record<string, string>;
  timeoutMs: number;
  /** Seconds to wait before each retry: [10, 30, 90] means at most 4 attempts. */
  retrySchedule: number[];
  /** When set, the retry delays come from it instead of `retrySchedule`. */
  backoff?: Backoff | null;
  /** Deliveries per second at most; null for no limit. */
  rateLimit: number | null;
  /** Deliveries that share an ordering key reach the endpoint in publish order. */
  ordering: boolean;
  /** Besides a matching type, every condition must hold on the event's data (absent or empty: no filter). */
  dataFilter?: DataCondition[];
  /**
   * A dead-letter sink: instead of events, the endpoint gets every delivery of its namespace that
   * fails for good, as the event with `metadata.deadLetter` added, when its type matches the patterns.
   */
  deadLetters?: boolean;
}

export interface Endpoint extends EndpointSettings {
  namespace: string;
  id: string;
  keys: EndpointKey[];
  enabled: boolean;
  disabledReason: string | null;
  createdAt: number;
  updatedAt: number;
  health: EndpointHealth;
}

/** When the circuit opens and when a failing endpoint is disabled; the same for all endpoints. */
export interface HealthPolicy {
  /** Consecutive failed attempts that pause an endpoint. */
  failuresToPause: number;
  /** How long a pause lasts before a probe. */
  pauseMs: number;
  /** An endpoint that failed every attempt for this long is disabled. */
  disableAfterMs: number;
}

/** A registered event type: publishes of it must have `data` valid against `schema` (JSON Schema). */
export interface EventTypeDefinition {
  namespace: string;
  name: string;
  description: string;
  schema: Record<string, unknown> | null;
  createdAt: number;
  updatedAt: number;
}

export interface EndpointTable {
  version: number;
  endpoints: Endpoint[];
  /** Absent in registries written before the catalog existed. */
  eventTypes?: EventTypeDefinition[];
}

/**
 * What one namespace may register. Its registry answers every read in one query and continues as
 * new with all of it as input, so its whole table stays well under Temporal's 2 MB payload limit.
 */
export interface EndpointQuotas {
  maxEndpoints: number;
  maxEventTypes: number;
  /** The namespace's endpoints and event types as JSON. */
  maxTableBytes: number;
}

export interface EndpointRegistryInput {
  policy: HealthPolicy;
  table: EndpointTable;
  /**
   * The namespace this registry holds, with its quotas. Absent in the one registry of every
   * namespace that Ferry kept before registries were partitioned; it runs until it is migrated.
   */
  namespace?: string;
  quotas?: EndpointQuotas;
}

/** Adds what a namespace's registry lacks (moving from the unpartitioned registry); the table version after. */
export const importUpdate = defineUpdate<number, [{ endpoints: Endpoint[]; eventTypes: EventTypeDefinition[] }]>('import');

export type EndpointRef = { namespace: string; id: string };

/** Creates or replaces an endpoint; the table version after the change. */
export const putEndpointUpdate = defineUpdate<number, [Endpoint]>('putEndpoint');
/** Creates or replaces an event type; the table version after the change. */
export const putEventTypeUpdate = defineUpdate<number, [EventTypeDefinition]>('putEventType');
/** Removes an event type; the table version after the change. */
export const removeEventTypeUpdate = defineUpdate<number, [{ namespace: string; name: string }]>('removeEventType');
/** Removes an endpoint; the table version after the change. */
export const removeEndpointUpdate = defineUpdate<number, [EndpointRef]>('removeEndpoint');
/** Enables or disables an endpoint; the endpoint (null if unknown) and the table version. */
export const setEnabledUpdate = defineUpdate<
  { endpoint: Endpoint | null; version: number },
  [EndpointRef & { enabled: boolean; reason: string | null }]
>('setEnabled');
/**
 * Asked by a delivery that found its endpoint paused: `go` when the endpoint is healthy again or when
 * this caller becomes the one probe; otherwise the time to ask again.
 */
export const admitUpdate = defineUpdate<{ go: boolean; until?: number }, [EndpointRef]>('admit');
/**
 * Delivery outcomes feed the circuit breaker (only outcomes that say something about its health);
 * answers the endpoint as it is now, so the reporting worker sees a pause or a disable at once.
 */
export const deliveryOutcomeUpdate = defineUpdate<Endpoint | null, [EndpointRef & { ok: boolean; error?: string }]>('deliveryOutcome');
/** Answers null when the caller's version is current, so refreshes of an unchanged table are cheap. */
export const endpointTableQuery = defineQuery<EndpointTable | null, [{ knownVersion?: number }]>('endpoints');

/** The health of an endpoint nothing has failed on. */
export const HEALTHY: EndpointHealth = {
  state: 'healthy',
  consecutiveFailures: 0,
  failingSince: null,
  pausedUntil: null,
  probeUntil: null,
  lastError: null,
};

/** A new endpoint: enabled, healthy, signing with one key. */
export const newEndpoint = (ref: EndpointRef, settings: EndpointSettings, secret: EndpointKey['secret'], now: number): Endpoint => ({
  ...settings,
  ...ref,
  keys: [{ secret }],
  enabled: true,
  disabledReason: null,
  createdAt: now,
  updatedAt: now,
  health: { ...HEALTHY },
});
