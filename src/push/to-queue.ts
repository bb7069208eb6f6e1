import type { QueueDestination } from '../workflows/endpoints.messages';
import { DeliveryFailure } from '../workflows/push.messages';
import type { SendResult } from './send';

/** What publishes jobs (the queue side's JobPublisher), as a delivery into a queue uses it. */
export interface JobSink {
  publish(request: { namespace: string; queue: string; bodies: Buffer[]; ttl: number; tries: number; delay: number; idempotencyKey: string }): Promise<{ jobIds: string[] }>;
}

/** One delivery into a queue: the event's envelope as a job body. */
export interface QueueDelivery {
  namespace: string;
  endpointId: string;
  queue: QueueDestination;
  /** The event id: with the endpoint id, the job's idempotency key, so a retried delivery makes no second job. */
  messageId: string;
  body: string;
}

/**
 * Publishes the event as a job, as `PUT /api/:ns/:queue` would. An event larger than a job may be
 * is refused for good; Temporal not answering is retried like an endpoint that does not answer.
 * Never throws: every outcome is an attempt record.
 */
export async function sendToQueue(publisher: JobSink, delivery: QueueDelivery, attempt: number, maxJobBytes: number): Promise<SendResult> {
  const startedAt = Date.now();
  const { name, tries, ttl } = delivery.queue;
  const bytes = Buffer.byteLength(delivery.body);
  if (bytes > maxJobBytes) {
    const error = `the event takes ${bytes} bytes; a job in queue ${name} may take at most ${maxJobBytes}`;
    return { record: { attempt, startedAt, durationMs: 0, error, responseExcerpt: '', outcome: 'permanent' }, failureType: DeliveryFailure.rejected };
  }
  try {
    const { jobIds } = await publisher.publish({
      namespace: delivery.namespace,
      queue: name,
      bodies: [Buffer.from(delivery.body)],
      ttl,
      tries,
      delay: 0,
      idempotencyKey: `push/${delivery.endpointId}/${delivery.messageId}`,
    });
    const responseExcerpt = JSON.stringify({ queue: name, jobId: jobIds[0] });
    return { record: { attempt, startedAt, durationMs: Date.now() - startedAt, responseExcerpt, outcome: 'success' } };
  } catch (err) {
    const error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    return { record: { attempt, startedAt, durationMs: Date.now() - startedAt, error, responseExcerpt: '', outcome: 'retry' }, failureType: DeliveryFailure.unavailable };
  }
}
