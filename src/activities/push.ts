import { createHash } from 'node:crypto';
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Dispatcher } from 'undici';
import { destinationOf } from '../push/destination';
import { sendWebhook } from '../push/send';
import { sendToQueue } from '../push/to-queue';
import type { EndpointDirectory } from '../temporal/endpoint-directory';
import type { JobPublisher } from '../temporal/job-publisher';
import { enqueueOrdered } from '../temporal/ordering';
import type { OrderedPush } from '../temporal/ordering';
import type { PushDeadLetters } from '../temporal/push-dead-letters';
import type { PushService } from '../temporal/push-service';
import type { Endpoint } from '../workflows/endpoints.messages';
import type { AttemptRecord, DeadLetterFilter, DeadLetterRecord, DeliveryAttempt } from '../workflows/push.messages';
import { attemptSignal, DeliveryFailure, pushViewQuery } from '../workflows/push.messages';

export interface PushActivityDeps {
  client: Client;
  directory: EndpointDirectory;
  deadLetters: PushDeadLetters;
  /** Ferry's task queue (ordering lines run on its index queue). */
  taskQueue: string;
  /** An undici dispatcher with the SSRF connector; pooled connections per origin. */
  dispatcher: Dispatcher;
  /** Longest `Retry-After` honoured; longer ones are cut to this. */
  maxRetryAfterMs: number;
  /** Publishes the jobs of endpoints whose destination is a queue, at most `maxJobBytes` each. */
  publisher: JobPublisher;
  maxJobBytes: number;
  /** Publishes dead deliveries to the namespace's dead-letter sinks. */
  pushes: PushService;
}

/** A delivery that failed for good, as its push workflow tells it to be routed. */
export interface DeadRoute {
  namespace: string;
  workflowId: string;
  endpointId: string;
  reason: string;
  failedAt: number;
  attempts: number;
}


/** The headers an endpoint asked for: its auth and its custom headers. */
export function endpointHeaders(endpoint: Endpoint): Record<string, string> {
  const headers = { ...endpoint.headers };
  const { auth } = endpoint;
  if (auth.type === 'basic') headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
  if (auth.type === 'bearer') headers.authorization = `Bearer ${auth.token}`;
  if (auth.type === 'header') headers[auth.name.toLowerCase()] = auth.value;
  return headers;
}

const final = (type: string, message: string, details?: unknown) =>
  ApplicationFailure.create({ type, message, nonRetryable: true, ...(details ? { details: [details] } : {}) });

/** Bytes of events read from their push workflows kept for their retries; the oldest go first. */
const EVENT_BODY_BYTES_KEPT = 32 * 1024 * 1024;

/** Activities of push workflows; the worker hands in its dispatcher and endpoint copy, tests local ones. */
export const createPushActivities = ({ client, directory, deadLetters, taskQueue, dispatcher, maxRetryAfterMs, publisher, maxJobBytes, pushes }: PushActivityDeps) => {
  const bodies = new Map<string, string>();
  let bytesKept = 0;
  /** The event as its push workflow sends it (an event never changes, so one read serves every retry). */
  const eventBody = async (workflowId: string): Promise<string> => {
    let body = bodies.get(workflowId);
    if (body === undefined) {
      body = JSON.stringify((await client.workflow.getHandle(workflowId).query(pushViewQuery)).event);
      bodies.set(workflowId, body);
      bytesKept += body.length;
      for (const [id, kept] of bodies) {
        if (bytesKept <= EVENT_BODY_BYTES_KEPT) break;
        bodies.delete(id);
        bytesKept -= kept.length;
      }
    }
    return body;
  };
  return {
    /**
     * One attempt to deliver an event to an endpoint, read from the registry at the time of the
     * attempt (so fixed URLs and rotated secrets apply to retries). Resolves with the attempt record on
     * 2xx; otherwise throws an ApplicationFailure of a DeliveryFailure type with the record as detail,
     * the next delay from the endpoint's schedule or its Retry-After, non-retryable when retrying
     * cannot help. A paused endpoint answers EndpointPaused before any request.
     */
    deliverToEndpoint: async (delivery: DeliveryAttempt): Promise<AttemptRecord> => {
      const context = Context.current();
      const attempt = delivery.attemptsBefore + context.info.attempt;
      const ref = { namespace: delivery.namespace, id: delivery.endpointId };
      const endpoint = await directory.current(ref, delivery.registryVersion);
      if (!endpoint) throw final(DeliveryFailure.missing, 'the endpoint was deleted');
      if (!endpoint.enabled) throw final(DeliveryFailure.disabled, `the endpoint is disabled: ${endpoint.disabledReason ?? 'by a user'}`);
      if (endpoint.health.state === 'paused') {
        // While this copy already says how long to wait, waiting costs the registry nothing: with
        // thousands of deliveries held by one paused endpoint, only those that find the pause over ask.
        // Pauses are in Temporal's time (the registry's workflow clock), and so is this attempt's start.
        const { pausedUntil, probeUntil } = endpoint.health;
        const wait = Math.max(pausedUntil ?? 0, probeUntil ?? 0);
        const now = context.info.currentAttemptScheduledTimestampMs;
        const gate = wait > now ? { go: false, until: wait } : await directory.admit(ref);
        if (!gate.go) throw final(DeliveryFailure.paused, 'the endpoint is paused', { until: gate.until, attemptsUsed: attempt - 1 });
      }

      const body = delivery.body ?? (await eventBody(delivery.workflowId));
      const { messageId } = delivery;
      const { record, failureType, retryAfterMs } = endpoint.queue
        ? await sendToQueue(publisher, { namespace: ref.namespace, endpointId: ref.id, queue: endpoint.queue, messageId, body }, attempt, maxJobBytes)
        : await sendWebhook(
            dispatcher,
            { url: endpoint.url!, messageId, body, headers: endpointHeaders(endpoint), keys: endpoint.keys, timeoutMs: endpoint.timeoutMs },
            attempt,
            maxRetryAfterMs,
          );
      const tags = { namespace: ref.namespace, endpoint: ref.id, outcome: record.outcome };
      context.metricMeter.createCounter('ferry_push_attempts', undefined, 'Delivery attempts, by outcome').add(1, tags);
      context.metricMeter.createHistogram('ferry_push_attempt_duration', 'int', 'ms', 'Delivery attempt latency').record(record.durationMs, tags);

      const log = (err: unknown): void => {
        context.log.warn('could not tell the endpoint registry', { error: String(err) });
      };
      if (record.outcome === 'success') {
        await directory.report(ref, true).catch(log);
        return record;
      }
      let after: Endpoint | undefined = endpoint;
      if (failureType === DeliveryFailure.gone) after = (await directory.setEnabled(ref, false, 'the endpoint answered 410 Gone')) ?? undefined;
      // A refused event says nothing about the endpoint's health; an unreachable endpoint does.
      if (failureType === DeliveryFailure.unavailable) after = await directory.report(ref, false, record.error ?? `HTTP ${record.status}`).catch(log) ?? endpoint;
      const delays = delivery.retryDelaysMs ?? delivery.retrySchedule.map((s) => s * 1000);
      const retry = record.outcome === 'retry' && attempt <= delays.length;
      if (retry && after && !after.enabled) {
        throw final(DeliveryFailure.disabled, `the endpoint was disabled: ${after.disabledReason ?? 'by a user'}`, record);
      }
      if (retry && after?.health.state === 'paused') {
        // This failure opened (or kept open) the circuit: wait for the pause instead of the schedule.
        throw ApplicationFailure.create({
          type: DeliveryFailure.paused,
          message: 'the endpoint is paused',
          nonRetryable: true,
          details: [{ until: after.health.pausedUntil, attemptsUsed: attempt }, record],
        });
      }
      if (retry) {
        // Temporal reads a zero delay as none at all, so "retry at once" is 1 ms.
        record.nextRetryMs = Math.max(1, retryAfterMs ?? delays[attempt - 1]!);
        // Only the last attempt's outcome reaches the workflow's history; the earlier ones are told.
        await client.workflow.getHandle(delivery.workflowId).signal(attemptSignal, { endpointId: ref.id, record }).catch(log);
      }
      throw ApplicationFailure.create({
        type: failureType,
        message: record.status === undefined ? (record.error ?? 'failed') : `the endpoint answered ${record.status}`,
        nonRetryable: !retry,
        details: [record],
        nextRetryDelay: record.nextRetryMs,
      });
    },

    /**
     * Publishes a dead delivery's event, with `metadata.deadLetter` saying what failed, to the
     * namespace's dead-letter sinks whose patterns match it; answers their ids (none: nothing is
     * published). The id derives from the event, the endpoint and the attempts, so a retry of this
     * activity publishes nothing new, and a re-pushed delivery that dies again is routed again.
     */
    async routeDeadDelivery(dead: DeadRoute): Promise<string[]> {
      const { event } = await client.workflow.getHandle(dead.workflowId).query(pushViewQuery);
      const targets = pushes.targets.deadLetterSinks(dead.namespace, event);
      if (targets.length === 0) return [];
      const deadLetter: DeadLetterRecord = {
        eventId: event.id,
        endpointId: dead.endpointId,
        ...destinationOf(directory.get(dead.namespace, dead.endpointId)),
        error: dead.reason,
        failedAt: new Date(dead.failedAt).toISOString(),
        attempts: dead.attempts,
      };
      const digest = createHash('sha256').update(`${dead.endpointId}\n${event.id}\n${dead.attempts}`).digest('hex');
      await pushes.publish(dead.namespace, {
        event: { ...event, id: `dl_${digest.slice(0, 40)}`, metadata: { ...event.metadata, deadLetter } },
        targets,
        deadLetterOf: { eventId: event.id, endpointId: dead.endpointId },
      });
      return targets.map((t) => t.endpointId);
    },

    /** Puts a push in line for its ordering key at an endpoint (again: duplicates are ignored). */
    async enqueueOrdered(request: OrderedPush): Promise<void> {
      await enqueueOrdered(client, taskQueue, request);
    },

    /** Bulk re-push or delete from the dead letter, asked for by a signal (e.g. from the CLI). */
    async applyToDeadLetters(request: { namespace: string; action: 'repush' | 'discard'; filter: DeadLetterFilter }): Promise<number> {
      return deadLetters.apply(request.namespace, request.action, request.filter);
    },
  };
};
