import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { FerryDeadEndpoints, FerryEventType, FerryHeldEndpoints, FerryNamespace, indexTaskQueue, pushDeadLetterWorkflowId, pushWorkflowId } from '../workflows/ids';
import type { PushDeadLetterWorkflow } from '../workflows/push-deadletter';
import type { PushWorkflow } from '../workflows/push';
import type { EndpointRef } from '../workflows/endpoints.messages';
import type { DeadDelivery, DeadLetterFilter, DeadSelection } from '../workflows/push.messages';
import { discardUpdate, repushUpdate } from '../workflows/push.messages';
import { isTopicPattern, matchesTopic } from '../push/topics';
import { isNotFound } from './temporal-errors';
import { allOf, literal, ofType, RUNNING } from './visibility';

export interface DeadLetterEntry {
  eventId: string;
  type: string;
  endpointId: string;
  reason: string;
  held: boolean;
  failedAt: number;
  attempts: number | null;
}

/** Deliveries in one endpoint's dead letter; `held` of them wait for the endpoint to be enabled. */
export interface DeadLetterSize {
  namespace: string;
  endpoint: string;
  dead: number;
  held: number;
}

const BULK_CONCURRENCY = 16;

/**
 * The push dead letter: the set of running push workflows that hold dead deliveries, found through
 * visibility (their FerryDeadEndpoints and FerryHeldEndpoints) and acted on by updates. The API's
 * routes and the worker's bulk activity both use it.
 */
export class PushDeadLetters {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
  ) {}

  /** Makes sure the namespace's dead-letter workflow runs, so CLI signals to it always land. */
  async ensureWorkflow(namespace: string): Promise<void> {
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

  private deadQuery(namespace: string, filter: DeadLetterFilter): string {
    const list = filter.heldOnly ? 'FerryHeldEndpoints' : 'FerryDeadEndpoints';
    return allOf(
      `FerryNamespace = ${literal(namespace)}`,
      ofType('PushWorkflow'),
      RUNNING,
      filter.endpoint ? `${list} = ${literal(filter.endpoint)}` : `${list} IS NOT NULL`,
      // A pattern is matched here, on each listed push.
      filter.type && !isTopicPattern(filter.type) && `FerryEventType = ${literal(filter.type)}`,
      filter.since !== undefined && `FerryStateSince >= ${filter.since}`,
      filter.until !== undefined && `FerryStateSince <= ${filter.until}`,
    );
  }

  /** Dead-lettered deliveries matching the filter, per push workflow. */
  private async *dead(namespace: string, filter: DeadLetterFilter): AsyncGenerator<{ info: WorkflowExecutionInfo; entries: DeadLetterEntry[] }> {
    for await (const info of this.client.workflow.list({ query: this.deadQuery(namespace, filter) })) {
      const type = info.typedSearchAttributes.get(FerryEventType) ?? '';
      if (filter.type && !matchesTopic(filter.type, type)) continue;
      const dead = (info.memo?.dead ?? {}) as Record<string, DeadDelivery>;
      const entries = Object.entries(dead)
        .filter(([endpointId, d]) => (!filter.endpoint || endpointId === filter.endpoint) && (!filter.heldOnly || d.held))
        .map(([endpointId, d]) => ({
          eventId: info.workflowId.slice(pushWorkflowId(namespace, '').length),
          type,
          endpointId,
          reason: d.reason,
          held: d.held,
          failedAt: d.at,
          attempts: d.attempts ?? null,
        }));
      if (entries.length > 0 && info.typedSearchAttributes.get(FerryDeadEndpoints)) yield { info, entries };
    }
  }

  /** Dead-lettered deliveries (failed for good, or held for a disabled endpoint), newest first. */
  async list(namespace: string, filter: DeadLetterFilter): Promise<DeadLetterEntry[]> {
    const limit = filter.limit ?? 100;
    const entries: DeadLetterEntry[] = [];
    for await (const batch of this.dead(namespace, filter)) {
      entries.push(...batch.entries);
      if (entries.length >= limit) break;
    }
    return entries.slice(0, limit);
  }

  /**
   * Dead-lettered deliveries per namespace and endpoint (`held`: those waiting for a disabled
   * endpoint), for each of `endpoints` (0 when none) and every other endpoint that has any: one
   * visibility listing, whatever the number of endpoints.
   */
  async sizes(endpoints: EndpointRef[] = []): Promise<DeadLetterSize[]> {
    const sizes = new Map(endpoints.map((e) => [`${e.namespace}/${e.id}`, { namespace: e.namespace, endpoint: e.id, dead: 0, held: 0 }]));
    const sizeOf = (namespace: string, endpoint: string): DeadLetterSize => {
      const key = `${namespace}/${endpoint}`;
      const size = sizes.get(key) ?? { namespace, endpoint, dead: 0, held: 0 };
      sizes.set(key, size);
      return size;
    };
    const query = allOf(ofType('PushWorkflow'), RUNNING, 'FerryDeadEndpoints IS NOT NULL');
    for await (const info of this.client.workflow.list({ query })) {
      const namespace = info.typedSearchAttributes.get(FerryNamespace) ?? '';
      for (const endpoint of info.typedSearchAttributes.get(FerryDeadEndpoints) ?? []) sizeOf(namespace, endpoint).dead++;
      for (const endpoint of info.typedSearchAttributes.get(FerryHeldEndpoints) ?? []) sizeOf(namespace, endpoint).held++;
    }
    return [...sizes.values()];
  }

  /** How many dead-lettered deliveries a bulk action with this filter would touch. */
  async count(namespace: string, filter: DeadLetterFilter): Promise<number> {
    let count = 0;
    for await (const batch of this.dead(namespace, filter)) count += batch.entries.length;
    return Math.min(count, filter.limit ?? Infinity);
  }

  /** Re-pushes or deletes every dead-lettered delivery matching the filter; answers how many. */
  async apply(namespace: string, action: 'repush' | 'discard', filter: DeadLetterFilter): Promise<number> {
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
      if (isNotFound(err)) return 0;
      throw err;
    }
  }

  private handle(namespace: string, eventId: string) {
    return this.client.workflow.getHandle<typeof PushWorkflow>(pushWorkflowId(namespace, eventId));
  }
}
