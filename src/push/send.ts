import type { Dispatcher } from 'undici';
import { request } from 'undici';
import type { AttemptOutcome, AttemptRecord } from '../workflows/push.messages';
import { DeliveryFailure } from '../workflows/push.messages';
import type { SigningKey } from './signing';
import { signatureHeaders, signingKeys } from './signing';
import { ForbiddenAddressError } from './ssrf';

/** One signed POST of one event to one endpoint. */
export interface WebhookRequest {
  url: string;
  /** Stable across retries: receivers de-duplicate on it (`webhook-id`). */
  messageId: string;
  body: string;
  headers: Record<string, string>;
  keys: SigningKey[];
  timeoutMs: number;
}

/** What an attempt did; a failure says which kind and, on `Retry-After`, how long the endpoint asked to wait. */
export interface SendResult {
  record: AttemptRecord;
  failureType?: string;
  retryAfterMs?: number;
}

export const RESPONSE_EXCERPT_BYTES = 4096;

/** `Retry-After` in seconds or as an HTTP date, in ms from `now`; undefined when absent or invalid. */
export function retryAfterMs(value: string | string[] | undefined, now: number): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (!raw) return undefined;
  if (/^\d+$/.test(raw.trim())) return Number(raw.trim()) * 1000;
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

async function excerpt(body: AsyncIterable<Buffer>): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    // Leaving the loop destroys the stream: the rest of a large response is never read.
    if (size >= RESPONSE_EXCERPT_BYTES) break;
  }
  return new TextDecoder().decode(Buffer.concat(chunks).subarray(0, RESPONSE_EXCERPT_BYTES));
}

function classify(status: number): { outcome: AttemptOutcome; type?: string } {
  if (status >= 200 && status < 300) return { outcome: 'success' };
  if (status === 410) return { outcome: 'permanent', type: DeliveryFailure.gone };
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
    return { outcome: 'permanent', type: DeliveryFailure.rejected };
  }
  return { outcome: 'retry', type: DeliveryFailure.unavailable };
}

/**
 * One signed HTTP POST through `dispatcher` (pooled connections, SSRF checks), classified by status:
 * 2xx delivered, 410 gone (the endpoint is disabled), other 4xx but 408 and 429 rejected for good,
 * anything else (and no answer) retried. Never throws: every outcome is an attempt record.
 */
export async function sendWebhook(
  dispatcher: Dispatcher,
  delivery: WebhookRequest,
  attempt: number,
  maxRetryAfterMs: number,
): Promise<SendResult> {
  const startedAt = Date.now();
  const headers = {
    'content-type': 'application/json',
    'user-agent': 'Ferry-Webhooks/1',
    ...delivery.headers,
    ...signatureHeaders({ id: delivery.messageId, timestamp: new Date(startedAt), body: delivery.body }, signingKeys(delivery.keys, startedAt)),
  };
  try {
    const res = await request(delivery.url, {
      method: 'POST',
      body: delivery.body,
      headers,
      dispatcher,
      headersTimeout: delivery.timeoutMs,
      bodyTimeout: delivery.timeoutMs,
      signal: AbortSignal.timeout(delivery.timeoutMs),
    });
    const responseExcerpt = await excerpt(res.body);
    const { outcome, type } = classify(res.statusCode);
    const record: AttemptRecord = { attempt, startedAt, durationMs: Date.now() - startedAt, status: res.statusCode, responseExcerpt, outcome };
    const retryAfter = outcome === 'retry' ? retryAfterMs(res.headers['retry-after'], Date.now()) : undefined;
    return { record, failureType: type, retryAfterMs: retryAfter === undefined ? undefined : Math.min(retryAfter, maxRetryAfterMs) };
  } catch (err) {
    const forbidden = err instanceof ForbiddenAddressError || (err instanceof Error && err.cause instanceof ForbiddenAddressError);
    const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    return {
      record: { attempt, startedAt, durationMs: Date.now() - startedAt, error: message, responseExcerpt: '', outcome: forbidden ? 'permanent' : 'retry' },
      failureType: forbidden ? DeliveryFailure.forbidden : DeliveryFailure.unavailable,
    };
  }
}
