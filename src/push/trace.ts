import type { PayloadCodec } from '@temporalio/common';
import { defaultPayloadConverter } from '@temporalio/common';
import type { google, temporal } from '@temporalio/proto';
import type { AttemptRecord, DeliveryAttempt } from '../workflows/push.messages';

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

/** Passes, in place, the payloads `traceFromHistory` reads through the client's codecs (last first, as the SDK does). */
export async function decodeTracedPayloads(history: temporal.api.history.v1.IHistory, codecs: PayloadCodec[]): Promise<void> {
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
