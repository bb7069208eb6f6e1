import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

/** The envelope of an event, as published and as sent (JSON) to every endpoint. */
export interface PushEvent {
  id: string;
  type: string;
  /** ISO 8601; the publisher's, or the time Ferry accepted the event. */
  timestamp: string;
  source: string | null;
  correlationId: string | null;
  data: unknown;
  metadata: Record<string, unknown> | null;
}

/** What a push needs to know of an endpoint to schedule its delivery (URL and secrets are read per attempt). */
export interface DeliveryTarget {
  endpointId: string;
  /** Seconds before each retry (whole seconds: what workers before `retryDelaysMs` read). */
  retrySchedule: number[];
  /** Ms before each retry; absent in pushes published before it existed (then `retrySchedule`). */
  retryDelaysMs?: number[];
  timeoutMs: number;
  ordered: boolean;
  /** Set for rate-limited endpoints: the task queue whose dispatch rate Temporal caps. */
  taskQueue: string | null;
}

export interface PushInput {
  namespace: string;
  event: PushEvent;
  targets: DeliveryTarget[];
  orderingKey: string | null;
  /** The endpoint registry version the publisher had read: deliveries use at least that. */
  registryVersion: number;
  /** No delivery starts before this time (ms since the epoch). */
  deliverAt?: number | null;
  /** A delivery not made by this time is dropped and recorded as expired (ms since the epoch). */
  expiresAt?: number | null;
  /** Dead deliveries are dropped this long after they failed, and the push ends (ms; absent or 0: kept until re-pushed or dropped). */
  retentionMs?: number;
  /** Set on the push that takes a dead delivery to the dead-letter sinks: its own dead deliveries go nowhere further. */
  deadLetterOf?: { eventId: string; endpointId: string } | null;
}

/** `expired`: not delivered before the event's `expiresAt`, and not retried any more. */
export type DeliveryStatus = 'pending' | 'pushing' | 'push_success' | 'push_failed' | 'expired';

export type AttemptOutcome = 'success' | 'retry' | 'permanent';

/** What one attempt did, as the attempt log shows it. */
export interface AttemptRecord {
  attempt: number;
  startedAt: number;
  durationMs: number;
  status?: number;
  error?: string;
  /** At most 4 KiB of the response body. */
  responseExcerpt: string;
  outcome: AttemptOutcome;
  /** For an attempt to be retried: the wait Ferry asked Temporal for (the schedule's, the backoff's or Retry-After). */
  nextRetryMs?: number;
}

export interface DeadDelivery {
  reason: string;
  /** Held: the endpoint was disabled; enabling it replays the delivery. */
  held: boolean;
  at: number;
  /** Attempts made when it failed (absent in dead letters from before it was recorded). */
  attempts?: number;
}

/** What a dead-letter sink is told of a dead delivery, under the event's `metadata.deadLetter`. */
export interface DeadLetterRecord {
  eventId: string;
  endpointId: string;
  /** The endpoint's URL host, or its queue. */
  host: string | null;
  queue: string | null;
  error: string;
  failedAt: string;
  attempts: number;
}

export interface DeliveryView {
  endpointId: string;
  status: DeliveryStatus;
  attempts: AttemptRecord[];
  /** While the endpoint's circuit is open: when the delivery asks again. */
  pausedUntil: number | null;
  dead: DeadDelivery | null;
  /** When the delivery expired (absent in pushes that began before expiry existed). */
  expiredAt?: number | null;
  /** When the retention dropped it from the dead letter. */
  droppedAt?: number | null;
}

export interface PushView {
  namespace: string;
  event: PushEvent;
  status: DeliveryStatus;
  deliverAt?: number | null;
  expiresAt?: number | null;
  orderingKey: string | null;
  deliveries: DeliveryView[];
}

/** Which dead-lettered deliveries of this event a re-push or a delete applies to (all when absent). */
export interface DeadSelection {
  endpoints?: string[];
  /** Only deliveries held for a disabled endpoint. */
  heldOnly?: boolean;
}

/** Re-pushes dead-lettered deliveries; from the CLI: `--name repush --input '{"endpoints":["ep"]}'`. */
export const repushSignal = defineSignal<[DeadSelection?]>('repush');
/** The same as an update: answers how many deliveries started again. */
export const repushUpdate = defineUpdate<number, [DeadSelection]>('repush');
/** Drops dead-lettered deliveries; answers how many. */
export const discardUpdate = defineUpdate<number, [DeadSelection]>('discard');
/** A failed attempt that will be retried, reported by the activity (the final one is its result). */
export const attemptSignal = defineSignal<[{ endpointId: string; record: AttemptRecord }]>('attempt');
/** The ordering workflow says it is this delivery's turn. */
export const turnSignal = defineSignal<[{ endpointId: string }]>('turn');
export const pushViewQuery = defineQuery<PushView>('push');

/** Filters of a namespace's dead letter (the API and the CLI use the same shape). */
export interface DeadLetterFilter {
  endpoint?: string;
  type?: string;
  /** ms since the epoch. */
  since?: number;
  until?: number;
  heldOnly?: boolean;
  limit?: number;
}

/** Bulk re-push from the CLI: `temporal workflow signal --workflow-id push-deadletter/<ns> --name repush`. */
export const bulkRepushSignal = defineSignal<[DeadLetterFilter?]>('repush');
export const bulkDiscardSignal = defineSignal<[DeadLetterFilter?]>('discard');

/** Ordering: a push asks for its turn, and says when its delivery is over. */
export const enqueueSignal = defineSignal<[{ workflowId: string }]>('enqueue');
export const doneSignal = defineSignal<[{ workflowId: string }]>('done');

/** Failure types of a delivery attempt, as `ApplicationFailure.type`. */
export const DeliveryFailure = {
  /** 4xx other than 408/429: the endpoint refused this event; retrying cannot help. */
  rejected: 'EndpointRejected',
  /** 410: the endpoint is gone; the delivery dead-letters and the endpoint is disabled. */
  gone: 'EndpointGone',
  /** 408, 429, 5xx, 3xx (redirects are not followed), timeouts, connection errors: retry. */
  unavailable: 'EndpointUnavailable',
  /** The target resolves to an address deliveries may not reach. */
  forbidden: 'ForbiddenAddress',
  /** The endpoint is disabled: the delivery is held in the dead letter until it is enabled. */
  disabled: 'EndpointDisabled',
  /** The endpoint was deleted. */
  missing: 'EndpointMissing',
  /** The endpoint's circuit is open: the delivery waits (details: { until, attemptsUsed }) without using a try. */
  paused: 'EndpointPaused',
} as const;

/** What a delivery attempt activity gets; the same on every retry. */
export interface DeliveryAttempt {
  namespace: string;
  endpointId: string;
  workflowId: string;
  /** `webhook-id`: the event id, the same on every retry, so receivers can de-duplicate. */
  messageId: string;
  /**
   * The event as sent. Deliveries now leave it out (the activity reads it from the push workflow
   * once per worker process): every scheduled activity's input is in the workflow's history, and a
   * 256 KiB event to many endpoints, or retried behind a long pause, would outgrow the history.
   */
  body?: string;
  retrySchedule: number[];
  /** The delays in ms, when the push has them (see DeliveryTarget). */
  retryDelaysMs?: number[];
  /** Attempts made before this activity started (it resumes after a pause). */
  attemptsBefore: number;
  registryVersion: number;
}
