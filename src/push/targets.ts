import { matchesData } from './data-filter';
import { retryDelaysMs } from './retry-delays';
import type { EventSchemas } from './event-schemas';
import { matchesTopic } from './topics';
import { ErrorCode, FerryError } from '../errors';
import type { EndpointDirectory } from '../temporal/endpoint-directory';
import { rateLimitedTaskQueue } from '../workflows/ids';
import type { Endpoint } from '../workflows/endpoints.messages';
import type { DeliveryTarget, PushEvent } from '../workflows/push.messages';

/** A publish named endpoints that do not exist in its namespace. */
export class UnknownEndpointError extends FerryError {
  override readonly name = 'UnknownEndpointError';
  constructor(readonly endpointIds: string[]) {
    super(ErrorCode.UnknownEndpoint, `unknown endpoint: ${endpointIds.join(', ')}`);
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
export class FanOutTooLargeError extends FerryError {
  override readonly name = 'FanOutTooLargeError';
  constructor(count: number, bytes: number) {
    super(
      ErrorCode.FanOutTooLarge,
      `this event would go to ${count} endpoints whose ids take ${bytes} bytes as a JSON list; the endpoint ids of one event may take ` +
        `at most ${MAX_TARGET_LIST_BYTES} (28 ids of 64 characters, 60 of 29): publish it as several events, each naming some of the endpoints`,
    );
  }
}

/** This process has not read the endpoint registry yet: publishing now could miss endpoints. */
export class EndpointsNotLoadedError extends FerryError {
  override readonly name = 'EndpointsNotLoadedError';
  constructor() {
    super(ErrorCode.NotLoaded, 'endpoints not loaded yet, retry later', 1);
  }
}

/** Which endpoints an event goes to, from this process's copy of the endpoint registries. */
export class EventTargets {
  constructor(
    private readonly directory: EndpointDirectory,
    private readonly schemas: EventSchemas,
    /** Ferry's task queue, from which rate-limited endpoints' queues are named. */
    private readonly taskQueue: string,
  ) {}

  /**
   * The endpoints an event goes to: those named, or every endpoint whose patterns match its type
   * and whose data filter its data (dead-letter sinks only when named). Throws EventSchemaError when
   * the type is in the namespace's catalog and the data does not match its schema.
   */
  for(namespace: string, event: Pick<PushEvent, 'type' | 'data'>, named?: string[]): DeliveryTarget[] {
    if (!this.directory.loaded) throw new EndpointsNotLoadedError();
    const { type, data } = event;
    const registered = this.directory.eventType(namespace, type);
    if (registered) this.schemas.validate(registered, data);
    if (!named) return this.targetsOf(namespace, this.matching(namespace, event, false));
    const unknown = named.filter((id) => !this.directory.get(namespace, id));
    if (unknown.length > 0) throw new UnknownEndpointError(unknown);
    return this.targetsOf(namespace, [...new Set(named)].map((id) => this.directory.get(namespace, id)!));
  }

  /** The dead-letter sinks of the namespace whose patterns and data filter match a dead delivery's event. */
  deadLetterSinks(namespace: string, event: Pick<PushEvent, 'type' | 'data'>): DeliveryTarget[] {
    if (!this.directory.loaded) throw new EndpointsNotLoadedError();
    return this.targetsOf(namespace, this.matching(namespace, event, true));
  }

  private matching(namespace: string, { type, data }: Pick<PushEvent, 'type' | 'data'>, deadLetters: boolean): Endpoint[] {
    // Disabled endpoints get their events too: held in the dead letter until they are enabled.
    return this.directory
      .list(namespace)
      .filter((e) => (e.deadLetters ?? false) === deadLetters && e.eventTypes.some((p) => matchesTopic(p, type)) && matchesData(e.dataFilter ?? [], data));
  }

  private targetsOf(namespace: string, endpoints: Endpoint[]): DeliveryTarget[] {
    const listBytes = Buffer.byteLength(JSON.stringify(endpoints.map((e) => e.id)));
    if (listBytes > MAX_TARGET_LIST_BYTES) throw new FanOutTooLargeError(endpoints.length, listBytes);
    return endpoints.map((e) => {
      const delays = e.backoff ? retryDelaysMs(e) : undefined;
      return {
        endpointId: e.id,
        // Whole seconds too, for workers from before ms delays.
        ...(delays ? { retrySchedule: delays.map((ms) => Math.ceil(ms / 1000)), retryDelaysMs: delays } : { retrySchedule: e.retrySchedule }),
        timeoutMs: e.timeoutMs,
        ordered: e.ordering,
        taskQueue: e.rateLimit ? rateLimitedTaskQueue(this.taskQueue, namespace, e.id) : null,
      };
    });
  }
}
