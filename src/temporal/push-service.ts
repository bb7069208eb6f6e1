import type { Client } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { WorkflowIdReusePolicy } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { EventSchemas } from '../push/event-schemas';
import { EventTargets } from '../push/targets';
import type { TraceEntry } from '../push/trace';
import { decodeTracedPayloads, traceFromHistory } from '../push/trace';
import { FerryEndpoints, FerryEventType, FerryState, pushWorkflowId } from '../workflows/ids';
import type { PushWorkflow } from '../workflows/push';
import type { DeliveryStatus, DeliveryTarget, PushEvent, PushInput, PushView } from '../workflows/push.messages';
import { pushViewQuery } from '../workflows/push.messages';
import type { EndpointDirectory } from './endpoint-directory';
import { enqueueOrdered } from './ordering';
import type { PublishGate } from './publish-gate';
import type { RetentionPolicy } from './retention';
import { isNotFound } from './temporal-errors';
import { allOf, literal, ofType } from './visibility';

export interface PublishRequest {
  event: PushEvent;
  /** Deliver to exactly these endpoints instead of those whose patterns match the type. */
  endpoints?: string[];
  /** Or to these, already chosen (the dead-letter sinks of a dead delivery). */
  targets?: DeliveryTarget[];
  deadLetterOf?: PushInput['deadLetterOf'];
  orderingKey?: string | null;
  /** When deliveries may start, and when they expire (ms since the epoch). */
  deliverAt?: number | null;
  expiresAt?: number | null;
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

export interface EventFilter {
  type?: string;
  status?: DeliveryStatus;
  since?: number;
  until?: number;
  limit: number;
}

/**
 * The push side of Ferry on Temporal: publishing starts one PushWorkflow per event id; reads are
 * queries, visibility lists and histories. The dead letter is `PushDeadLetters`.
 */
export class PushService {
  readonly schemas = new EventSchemas();
  readonly targets: EventTargets;
  private readonly publishTimeoutMs: number;
  private readonly gate: PublishGate | undefined;
  private readonly retention: RetentionPolicy | undefined;

  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
    private readonly directory: EndpointDirectory,
    /**
     * How long a publish waits for Temporal (the API then answers 503); a gate refusing publishes
     * while it is behind; how long dead deliveries are kept (until re-pushed or dropped when absent).
     */
    options: { publishTimeoutMs?: number; gate?: PublishGate; retention?: RetentionPolicy } = {},
  ) {
    this.publishTimeoutMs = options.publishTimeoutMs ?? 5000;
    this.gate = options.gate;
    this.retention = options.retention;
    this.targets = new EventTargets(directory, this.schemas, taskQueue);
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
    const targets = request.targets ?? this.targets.for(namespace, event, request.endpoints);
    const orderingKey = request.orderingKey ?? null;
    const workflowId = pushWorkflowId(namespace, event.id);
    const retentionMs = this.retention?.pushesMs(namespace) ?? 0;
    let replayed = false;
    try {
      await this.client.workflow.start<typeof PushWorkflow>('PushWorkflow', {
        workflowId,
        taskQueue: this.taskQueue,
        args: [
          {
            namespace,
            event,
            targets,
            orderingKey,
            registryVersion: this.directory.versionOf(namespace),
            ...(request.deliverAt ? { deliverAt: request.deliverAt } : {}),
            ...(request.expiresAt ? { expiresAt: request.expiresAt } : {}),
            ...(request.deadLetterOf ? { deadLetterOf: request.deadLetterOf } : {}),
            ...(retentionMs > 0 ? { retentionMs } : {}),
          },
        ],
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      });
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      replayed = true;
    }
    // In line before the publish is answered, so the next publish of the key comes after this one.
    if (orderingKey) {
      for (const target of targets.filter((t) => t.ordered)) {
        await enqueueOrdered(this.client, this.taskQueue, { namespace, endpointId: target.endpointId, key: orderingKey, workflowId });
      }
    }
    return { id: event.id, endpoints: targets.map((t) => t.endpointId), replayed };
  }

  private handle(namespace: string, eventId: string) {
    return this.client.workflow.getHandle<typeof PushWorkflow>(pushWorkflowId(namespace, eventId));
  }

  /** The event and its deliveries, or undefined if Temporal does not know it (any more). */
  async get(namespace: string, eventId: string): Promise<PushView | undefined> {
    try {
      return await this.handle(namespace, eventId).query(pushViewQuery);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Newest first, as visibility lists them. */
  async list(namespace: string, filter: EventFilter): Promise<EventSummary[]> {
    const query = allOf(
      `FerryNamespace = ${literal(namespace)}`,
      ofType('PushWorkflow'),
      filter.type && `FerryEventType = ${literal(filter.type)}`,
      filter.status && `FerryState = ${literal(filter.status)}`,
      filter.since !== undefined && `StartTime >= ${literal(new Date(filter.since).toISOString())}`,
      filter.until !== undefined && `StartTime <= ${literal(new Date(filter.until).toISOString())}`,
    );
    const events: EventSummary[] = [];
    for await (const info of this.client.workflow.list({ query, pageSize: Math.min(filter.limit, 1000) })) {
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

  /** Every attempt to every endpoint, from the event's workflow history, in time order. */
  async trace(namespace: string, eventId: string): Promise<TraceEntry[] | undefined> {
    let history: temporal.api.history.v1.IHistory;
    try {
      history = await this.handle(namespace, eventId).fetchHistory();
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    await decodeTracedPayloads(history, this.client.options.loadedDataConverter.payloadCodecs);
    return traceFromHistory(history);
  }
}

