import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import type { PayloadCodec } from '@temporalio/common';
import { defaultPayloadConverter, WorkflowIdReusePolicy } from '@temporalio/common';
import type { google, temporal } from '@temporalio/proto';
import { matchesData } from '../push/data-filter';
import type { PublishGate } from './publish-gate';
import { EventSchemas } from '../push/event-schemas';
import { matchesTopic } from '../push/topics';
import {
  FerryDeadEndpoints,
  FerryEndpoints,
  FerryEventType,
  FerryNamespace,
  FerryState,
  indexTaskQueue,
  orderingWorkflowId,
  pushDeadLetterWorkflowId,
  pushWorkflowId,
  rateLimitedTaskQueue,
} from '../workflows/ids';
import type { OrderingWorkflow } from '../workflows/ordering';
import type { PushDeadLetterWorkflow } from '../workflows/push-deadletter';
import type { PushWorkflow } from '../workflows/push';
import type {
  AttemptRecord,
  DeadDelivery,
  DeadLetterFilter,
  DeadSelection,
  DeliveryAttempt,
  DeliveryStatus,
  DeliveryTarget,
  PushEvent,
  PushView,
} from '../workflows/push.messages';
import { discardUpdate, enqueueSignal, pushViewQuery, repushUpdate } from '../workflows/push.messages';
import type { EndpointDirectory } from './endpoint-directory';

/** A publish named endpoints that do not exist in its namespace. */
export class UnknownEndpointError extends Error {
  override readonly name = 'UnknownEndpointError';
  constructor(readonly endpointIds: string[]) {
    super(`unknown endpoint: ${endpointIds.join(', ')}`);
  }
}

/**
 * Temporal refuses a search attribute value over 2 KiB (limit.searchAttributesSizeOfValue) by
 * terminating the workflow that wrote it; a push writes its endpoint ids into FerryEndpoints (and
 * subsets into FerryDeadEndpoints and FerryHeldEndpoints), so their JSON list must stay below it,
 * with room for the payload's metadata.
 */
export const MAX_TARGET_LIST_BYTES = 1900;

/** An event would go to more endpoints than one push can name. */
export class FanOutTooLargeError extends Error {
  override readonly name = 'FanOutTooLargeError';
  constructor(count: number, bytes: number) {
    super(
      `this event would go to ${count} endpoints whose ids take ${bytes} bytes as a JSON list; the endpoint ids of one event may take ` +
        `at most ${MAX_TARGET_LIST_BYTES} (28 ids of 64 characters, 60 of 29): publish it as several events, each naming some of the endpoints`,
    );
  }
}

/** This process has not read the endpoint registry yet: publishing now could miss endpoints. */
export class EndpointsNotLoadedError extends Error {
  override readonly name = 'EndpointsNotLoadedError';
  constructor() {
    super('endpoints not loaded yet, retry later');
  }
}

export interface PublishRequest {
  event: PushEvent;
  /** Deliver to exactly these endpoints instead of those whose patterns match the type. */
  endpoints?: string[];
  orderingKey?: string | null;
}

export interface Published {
  id: string;
  endpoints: string[];
  /** The id was published before: nothing new was started. */
  replayed: boolean;
}

export interface EventSummary {
  id: string;
  type: string;
  status: DeliveryStatus;
  endpoints: string[];
  createdAt: number;
}

export interface DeadLetterEntry {
  eventId: string;
  type: string;
  endpointId: string;
  reason: string;
  held: boolean;
  failedAt: number;
}

/** One step of an event's trace, read from its workflow history. */
export interface TraceEntry {
  endpointId: string;
  attempt: number;
  at: number;
  durationMs: number | null;
  status: number | null;
  error: string | null;
  outcome: AttemptRecord['outcome'] | 'lost';
}

export interface EventFilter {
  type?: string;
  status?: DeliveryStatus;
  since?: number;
  until?: number;
  limit: number;
}

const BULK_CONCURRENCY = 16;

/** Visibility values here are validated names (no quotes possible); still, never trust a quote. */
const literal = (value: string) => `'${value.replace(/['\\]/g, '')}'`;

/**
 * The push side of Ferry on Temporal: publishing starts one PushWorkflow per event id; reads are
 * queries and visibility lists; the dead letter is the set of push workflows holding dead deliveries.
 */
export class PushService {
  readonly schemas = new EventSchemas();
  private readonly publishTimeoutMs: number;
  private readonly gate: PublishGate | undefined;

  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
    private readonly directory: EndpointDirectory,
    /** How long a publish waits for Temporal (the API then answers 503); a gate refusing publishes while it is behind. */
    options: { publishTimeoutMs?: number; gate?: PublishGate } = {},
  ) {
    this.publishTimeoutMs = options.publishTimeoutMs ?? 5000;
    this.gate = options.gate;
  }

  /**
   * The endpoints an event goes to: those named, or every endpoint whose patterns match its type
   * and whose data filter its data. Throws EventSchemaError when the type is in the namespace's
   * catalog and the data does not match its schema.
   */
  targetsFor(namespace: string, event: Pick<PushEvent, 'type' | 'data'>, named?: string[]): DeliveryTarget[] {
    if (!this.directory.loaded) throw new EndpointsNotLoadedError();
    const { type, data } = event;
    const registered = this.directory.eventType(namespace, type);
    if (registered) this.schemas.validate(registered, data);
    let endpoints;
    if (named) {
      const unknown = named.filter((id) => !this.directory.get(namespace, id));
      if (unknown.length > 0) throw new UnknownEndpointError(unknown);
      endpoints = [...new Set(named)].map((id) => this.directory.get(namespace, id)!);
    } else {
      // Disabled endpoints get their events too: held in the dead letter until they are enabled.
      endpoints = this.directory
        .list(namespace)
        .filter((e) => e.eventTypes.some((p) => matchesTopic(p, type)) && matchesData(e.dataFilter ?? [], data));
    }
    const listBytes = Buffer.byteLength(JSON.stringify(endpoints.map((e) => e.id)));
    if (listBytes > MAX_TARGET_LIST_BYTES) throw new FanOutTooLargeError(endpoints.length, listBytes);
    return endpoints.map((e) => ({
      endpointId: e.id,
      retrySchedule: e.retrySchedule,
      timeoutMs: e.timeoutMs,
      ordered: e.ordering,
      taskQueue: e.rateLimit ? rateLimitedTaskQueue(this.taskQueue, namespace, e.id) : null,
    }));
  }

  /**
   * Starts the event's push workflow; answers once Temporal has it. The same id again starts
   * nothing (`replayed`), for as long as Temporal remembers the first one (its retention). Gives up
   * after `publishTimeoutMs` (the SDK would otherwise retry an unreachable Temporal for ~20 s); the
   * event may then exist or not, and publishing the same id again settles which. Refused before
   * anything is written while the gate finds Temporal behind.
   */
  async publish(namespace: string, request: PublishRequest): Promise<Published> {
    return (await this.publishAll(namespace, [request]))[0]!;
  }

  /** Publishes in order after one admission, so a batch the gate refuses starts none of its events. */
  async publishAll(namespace: string, requests: PublishRequest[]): Promise<Published[]> {
    await this.gate?.admit();
    const published: Published[] = [];
    for (const request of requests) {
      published.push(await this.client.withDeadline(Date.now() + this.publishTimeoutMs, () => this.startPush(namespace, request)));
    }
    return published;
  }

  private async startPush(namespace: string, request: PublishRequest): Promise<Published> {
    const { event } = request;
    const targets = this.targetsFor(namespace, event, request.endpoints);
    const orderingKey = request.orderingKey ?? null;
    const workflowId = pushWorkflowId(namespace, event.id);
    let replayed = false;
    try {
      await this.client.workflow.start<typeof PushWorkflow>('PushWorkflow', {
        workflowId,
        taskQueue: this.taskQueue,
        args: [{ namespace, event, targets, orderingKey, registryVersion: this.directory.versionOf(namespace) }],
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      replayed = true;
    }
    // In line before the publish is answered, so the next publish of the key comes after this one.
    if (orderingKey) {
      for (const target of targets.filter((t) => t.ordered)) {
        await this.enqueueOrdered({ namespace, endpointId: target.endpointId, key: orderingKey, workflowId });
      }
    }
    return { id: event.id, endpoints: targets.map((t) => t.endpointId), replayed };
  }

  async enqueueOrdered(request: { namespace: string; endpointId: string; key: string; workflowId: string }): Promise<void> {
    await this.client.workflow.signalWithStart<typeof OrderingWorkflow, [{ workflowId: string }]>('OrderingWorkflow', {
      workflowId: orderingWorkflowId(request.namespace, request.endpointId, request.key),
      taskQueue: indexTaskQueue(this.taskQueue),
      args: [{ namespace: request.namespace, endpointId: request.endpointId, key: request.key, waiting: [], finished: [] }],
      signal: enqueueSignal,
      signalArgs: [{ workflowId: request.workflowId }],
    });
  }

  /** Makes sure the namespace's dead-letter workflow runs, so CLI signals to it always land. */
  async ensureDeadLetterWorkflow(namespace: string): Promise<void> {
    try {
      await this.client.workflow.start<typeof PushDeadLetterWorkflow>('PushDeadLetterWorkflow', {
        workflowId: pushDeadLetterWorkflowId(namespace),
        taskQueue: indexTaskQueue(this.taskQueue),
        args: [{ namespace }],
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
  }

  private handle(namespace: string, eventId: string) {
    return this.client.workflow.getHandle<typeof PushWorkflow>(pushWorkflowId(namespace, eventId));
  }

  /** The event and its deliveries, or undefined if Temporal does not know it (any more). */
  async get(namespace: string, eventId: string): Promise<PushView | undefined> {
    try {
      return await this.handle(namespace, eventId).query(pushViewQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
  }

  /** Newest first, as visibility lists them. */
  async list(namespace: string, filter: EventFilter): Promise<EventSummary[]> {
    const clauses = [`FerryNamespace = ${literal(namespace)}`, `WorkflowType = 'PushWorkflow'`];
    if (filter.type) clauses.push(`FerryEventType = ${literal(filter.type)}`);
    if (filter.status) clauses.push(`FerryState = ${literal(filter.status)}`);
    if (filter.since !== undefined) clauses.push(`StartTime >= ${literal(new Date(filter.since).toISOString())}`);
    if (filter.until !== undefined) clauses.push(`StartTime <= ${literal(new Date(filter.until).toISOString())}`);
    const events: EventSummary[] = [];
    for await (const info of this.client.workflow.list({ query: clauses.join(' AND '), pageSize: Math.min(filter.limit, 1000) })) {
      events.push({
        id: info.workflowId.slice(pushWorkflowId(namespace, '').length),
        type: info.typedSearchAttributes.get(FerryEventType) ?? '',
        status: (info.typedSearchAttributes.get(FerryState) ?? 'pending') as DeliveryStatus,
        endpoints: info.typedSearchAttributes.get(FerryEndpoints) ?? [],
        createdAt: info.startTime.getTime(),
      });
      if (events.length >= filter.limit) break;
    }
    return events;
  }

  private deadQuery(namespace: string, filter: DeadLetterFilter): string {
    const clauses = [`FerryNamespace = ${literal(namespace)}`, `WorkflowType = 'PushWorkflow'`, `ExecutionStatus = 'Running'`];
    const list = filter.heldOnly ? 'FerryHeldEndpoints' : 'FerryDeadEndpoints';
    clauses.push(filter.endpoint ? `${list} = ${literal(filter.endpoint)}` : `${list} IS NOT NULL`);
    if (filter.type) clauses.push(`FerryEventType = ${literal(filter.type)}`);
    if (filter.since !== undefined) clauses.push(`FerryStateSince >= ${filter.since}`);
    if (filter.until !== undefined) clauses.push(`FerryStateSince <= ${filter.until}`);
    return clauses.join(' AND ');
  }

  /** Dead-lettered deliveries matching the filter, per push workflow. */
  private async *dead(namespace: string, filter: DeadLetterFilter): AsyncGenerator<{ info: WorkflowExecutionInfo; entries: DeadLetterEntry[] }> {
    for await (const info of this.client.workflow.list({ query: this.deadQuery(namespace, filter) })) {
      const dead = (info.memo?.dead ?? {}) as Record<string, DeadDelivery>;
      const entries = Object.entries(dead)
        .filter(([endpointId, d]) => (!filter.endpoint || endpointId === filter.endpoint) && (!filter.heldOnly || d.held))
        .map(([endpointId, d]) => ({
          eventId: info.workflowId.slice(pushWorkflowId(namespace, '').length),
          type: info.typedSearchAttributes.get(FerryEventType) ?? '',
          endpointId,
          reason: d.reason,
          held: d.held,
          failedAt: d.at,
        }));
      if (entries.length > 0 && info.typedSearchAttributes.get(FerryDeadEndpoints)) yield { info, entries };
    }
  }

  /** Dead-lettered deliveries (failed for good, or held for a disabled endpoint), newest first. */
  async deadLetters(namespace: string, filter: DeadLetterFilter): Promise<DeadLetterEntry[]> {
    const limit = filter.limit ?? 100;
    const entries: DeadLetterEntry[] = [];
    for await (const batch of this.dead(namespace, filter)) {
      entries.push(...batch.entries);
      if (entries.length >= limit) break;
    }
    return entries.slice(0, limit);
  }

  /**
   * Dead-lettered deliveries per namespace and endpoint, for every endpoint that has any: one
   * visibility listing, whatever the number of endpoints.
   */
  async deadLetterSizes(): Promise<{ namespace: string; endpoint: string; dead: number }[]> {
    const sizes = new Map<string, { namespace: string; endpoint: string; dead: number }>();
    const query = `WorkflowType = 'PushWorkflow' AND ExecutionStatus = 'Running' AND FerryDeadEndpoints IS NOT NULL`;
    for await (const info of this.client.workflow.list({ query })) {
      const namespace = info.typedSearchAttributes.get(FerryNamespace) ?? '';
      for (const endpoint of info.typedSearchAttributes.get(FerryDeadEndpoints) ?? []) {
        const key = `${namespace}/${endpoint}`;
        const size = sizes.get(key) ?? { namespace, endpoint, dead: 0 };
        size.dead++;
        sizes.set(key, size);
      }
    }
    return [...sizes.values()];
  }

  /** How many dead-lettered deliveries a bulk action with this filter would touch. */
  async countDeadLetters(namespace: string, filter: DeadLetterFilter): Promise<number> {
    let count = 0;
    for await (const batch of this.dead(namespace, filter)) count += batch.entries.length;
    return Math.min(count, filter.limit ?? Infinity);
  }

  /** Re-pushes or deletes every dead-lettered delivery matching the filter; answers how many. */
  async applyToDeadLetters(namespace: string, action: 'repush' | 'discard', filter: DeadLetterFilter): Promise<number> {
    const limit = filter.limit ?? Infinity;
    const work: { eventId: string; selection: DeadSelection }[] = [];
    let planned = 0;
    for await (const { entries } of this.dead(namespace, filter)) {
      const take = entries.slice(0, limit - planned);
      work.push({ eventId: take[0]!.eventId, selection: { endpoints: take.map((e) => e.endpointId), heldOnly: filter.heldOnly } });
      planned += take.length;
      if (planned >= limit) break;
    }
    let done = 0;
    for (let i = 0; i < work.length; i += BULK_CONCURRENCY) {
      const counts = await Promise.all(
        work.slice(i, i + BULK_CONCURRENCY).map(({ eventId, selection }) => this.applyToEvent(namespace, eventId, action, selection).catch(() => 0)),
      );
      done += counts.reduce((a, b) => a + b, 0);
    }
    return done;
  }

  /** Re-pushes or deletes one event's dead-lettered deliveries; a finished push has none. */
  async applyToEvent(namespace: string, eventId: string, action: 'repush' | 'discard', selection: DeadSelection): Promise<number> {
    const update = action === 'repush' ? repushUpdate : discardUpdate;
    try {
      return await this.handle(namespace, eventId).executeUpdate(update, { args: [selection] });
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return 0;
      throw err;
    }
  }

  /** Every attempt to every endpoint, from the event's workflow history, in time order. */
  async trace(namespace: string, eventId: string): Promise<TraceEntry[] | undefined> {
    let history: temporal.api.history.v1.IHistory;
    try {
      history = await this.handle(namespace, eventId).fetchHistory();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    }
    await decodeTracedPayloads(history, this.client.options.loadedDataConverter.payloadCodecs);
    return traceFromHistory(history);
  }
}

/** Passes, in place, the payloads `traceFromHistory` reads through the client's codecs (last first, as the SDK does). */
async function decodeTracedPayloads(history: temporal.api.history.v1.IHistory, codecs: PayloadCodec[]): Promise<void> {
  const decodeIn = async (holder: temporal.api.common.v1.IPayloads | null | undefined) => {
    if (!holder?.payloads) return;
    let payloads = holder.payloads;
    for (const codec of [...codecs].reverse()) payloads = await codec.decode(payloads);
    holder.payloads = payloads;
  };
  for (const event of history.events ?? []) {
    await decodeIn(event.activityTaskScheduledEventAttributes?.input);
    await decodeIn(event.activityTaskCompletedEventAttributes?.result);
    await decodeIn(event.activityTaskFailedEventAttributes?.failure?.applicationFailureInfo?.details);
    await decodeIn(event.workflowExecutionSignaledEventAttributes?.input);
  }
}

const decode = <T>(payload: temporal.api.common.v1.IPayload | null | undefined): T | undefined =>
  payload ? defaultPayloadConverter.fromPayload<T>(payload) : undefined;
const millis = (time: google.protobuf.ITimestamp | null | undefined): number =>
  time ? Number(time.seconds ?? 0) * 1000 + Math.floor((time.nanos ?? 0) / 1e6) : 0;

function entryOf(endpointId: string, record: AttemptRecord): TraceEntry {
  return {
    endpointId,
    attempt: record.attempt,
    at: record.startedAt,
    durationMs: record.durationMs,
    status: record.status ?? null,
    error: record.error ?? null,
    outcome: record.outcome,
  };
}

/**
 * Attempts that will be retried arrive as `attempt` signals; an activity's last attempt is its
 * result or failure; an attempt whose worker died shows up only as a timeout.
 */
export function traceFromHistory(history: temporal.api.history.v1.IHistory): TraceEntry[] {
  const scheduled = new Map<string, { endpointId: string; attemptsBefore: number }>();
  const started = new Map<string, { at: number; attempt: number }>();
  const entries: TraceEntry[] = [];
  for (const event of history.events ?? []) {
    const at = millis(event.eventTime);
    const s = event.activityTaskScheduledEventAttributes;
    if (s?.activityType?.name === 'deliverToEndpoint') {
      const input = decode<DeliveryAttempt>(s.input?.payloads?.[0]);
      if (input) scheduled.set(String(event.eventId), { endpointId: input.endpointId, attemptsBefore: input.attemptsBefore });
    }
    if (event.activityTaskStartedEventAttributes) {
      const a = event.activityTaskStartedEventAttributes;
      started.set(String(a.scheduledEventId), { at, attempt: a.attempt ?? 1 });
    }
    const completed = event.activityTaskCompletedEventAttributes;
    const target = scheduled.get(String(completed?.scheduledEventId));
    if (completed && target) {
      const record = decode<AttemptRecord>(completed.result?.payloads?.[0]);
      if (record) entries.push(entryOf(target.endpointId, record));
    }
    const failed = event.activityTaskFailedEventAttributes;
    const failedTarget = scheduled.get(String(failed?.scheduledEventId));
    if (failed && failedTarget) {
      const record = decode<AttemptRecord>(failed.failure?.applicationFailureInfo?.details?.payloads?.[0]);
      if (record?.attempt !== undefined) entries.push(entryOf(failedTarget.endpointId, record));
    }
    const timedOut = event.activityTaskTimedOutEventAttributes;
    const lost = scheduled.get(String(timedOut?.scheduledEventId));
    if (timedOut && lost) {
      const start = started.get(String(timedOut.scheduledEventId));
      entries.push({
        endpointId: lost.endpointId,
        attempt: lost.attemptsBefore + (start?.attempt ?? 1),
        at: start?.at ?? at,
        durationMs: null,
        status: null,
        error: 'the attempt timed out in the worker (worker lost?)',
        outcome: 'lost',
      });
    }
    const signal = event.workflowExecutionSignaledEventAttributes;
    if (signal?.signalName === 'attempt') {
      const told = decode<{ endpointId: string; record: AttemptRecord }>(signal.input?.payloads?.[0]);
      if (told) entries.push(entryOf(told.endpointId, told.record));
    }
  }
  return entries.sort((a, b) => a.at - b.at || a.attempt - b.attempt);
}
