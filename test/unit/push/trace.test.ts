import { defaultPayloadConverter } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import Long from 'long';
import { decodeTracedPayloads, traceFromHistory } from '../../../src/push/trace';
import type { AttemptRecord, DeliveryAttempt } from '../../../src/workflows/push.messages';
import { FerryPayloadCodec, parseCodecKeys } from '../../../src/temporal/payload-codec';

type Event = temporal.api.history.v1.IHistoryEvent;
const payloads = (value: unknown) => ({ payloads: [defaultPayloadConverter.toPayload(value)] });
const at = (ms: number) => ({ seconds: Long.fromNumber(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 });
const id = (n: number) => Long.fromNumber(n);
const delivery = (endpointId: string, attemptsBefore = 0): DeliveryAttempt => ({
  namespace: 'n',
  endpointId,
  workflowId: 'push/n/e',
  messageId: 'e',
  retrySchedule: [1, 1],
  attemptsBefore,
  registryVersion: 1,
});
const record = (attempt: number, startedAt: number, outcome: AttemptRecord['outcome'], status?: number): AttemptRecord => ({
  attempt,
  startedAt,
  durationMs: 5,
  ...(status === undefined ? { error: 'ECONNREFUSED' } : { status }),
  responseExcerpt: '',
  outcome,
});

/** A push to three endpoints: `a` retried by signal then delivered, `b` failed for good, `c` lost with its worker. */
const history = (): { events: Event[] } => ({
  events: [
    { eventId: id(5), eventTime: at(1000), activityTaskScheduledEventAttributes: { activityType: { name: 'deliverToEndpoint' }, input: payloads(delivery('a')) } },
    { eventId: id(6), eventTime: at(1000), activityTaskScheduledEventAttributes: { activityType: { name: 'deliverToEndpoint' }, input: payloads(delivery('b')) } },
    { eventId: id(7), eventTime: at(1000), activityTaskScheduledEventAttributes: { activityType: { name: 'deliverToEndpoint' }, input: payloads(delivery('c', 2)) } },
    { eventId: id(8), eventTime: at(1010), workflowExecutionSignaledEventAttributes: { signalName: 'attempt', input: payloads({ endpointId: 'a', record: record(1, 1010, 'retry') }) } },
    { eventId: id(9), eventTime: at(2000), activityTaskStartedEventAttributes: { scheduledEventId: id(7), attempt: 2 } },
    { eventId: id(10), eventTime: at(2020), activityTaskCompletedEventAttributes: { scheduledEventId: id(5), result: payloads(record(2, 2015, 'success', 200)) } },
    {
      eventId: id(11),
      eventTime: at(2030),
      activityTaskFailedEventAttributes: { scheduledEventId: id(6), failure: { applicationFailureInfo: { details: payloads(record(1, 1005, 'permanent', 400)) } } },
    },
    { eventId: id(12), eventTime: at(32_000), activityTaskTimedOutEventAttributes: { scheduledEventId: id(7) } },
  ],
});

test('a trace reads every attempt from a push history, in time order: signalled retries, results, failures, lost workers', () => {
  expect(traceFromHistory(history())).toEqual([
    { endpointId: 'b', attempt: 1, at: 1005, durationMs: 5, status: 400, error: null, outcome: 'permanent' },
    { endpointId: 'a', attempt: 1, at: 1010, durationMs: 5, status: null, error: 'ECONNREFUSED', outcome: 'retry' },
    { endpointId: 'c', attempt: 4, at: 2000, durationMs: null, status: null, error: 'the attempt timed out in the worker (worker lost?)', outcome: 'lost' },
    { endpointId: 'a', attempt: 2, at: 2015, durationMs: 5, status: 200, error: null, outcome: 'success' },
  ]);
});

test('payloads written through the codec are decoded in place before the trace reads them', async () => {
  const codec = new FerryPayloadCodec(parseCodecKeys(`k:${Buffer.alloc(32, 3).toString('base64')}`));
  const sealed = history();
  for (const event of sealed.events) {
    const holders = [
      event.activityTaskScheduledEventAttributes?.input,
      event.activityTaskCompletedEventAttributes?.result,
      event.activityTaskFailedEventAttributes?.failure?.applicationFailureInfo?.details,
      event.workflowExecutionSignaledEventAttributes?.input,
    ];
    for (const holder of holders) if (holder?.payloads) holder.payloads = await codec.encode(holder.payloads);
  }
  expect(() => traceFromHistory(sealed)).toThrow();
  await decodeTracedPayloads(sealed, [codec]);
  expect(traceFromHistory(sealed)).toEqual(traceFromHistory(history()));
});
