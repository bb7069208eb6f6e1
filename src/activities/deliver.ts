import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Dispatcher } from 'undici';
import { request } from 'undici';
import type { SigningKey } from '../push/signing';
import { signatureHeaders, signingKeys } from '../push/signing';
import { ForbiddenAddressError } from '../push/ssrf';

/** One push of one event to one endpoint; the same on every retry except for the attempt itself. */
export interface DeliveryRequest {
  url: string;
  /** Stable across retries: receivers de-duplicate on it (`webhook-id`). */
  messageId: string;
  body: string;
  headers: Record<string, string>;
  keys: SigningKey[];
  timeoutMs: number;
}

export type AttemptOutcome = 'success' | 'retry' | 'permanent';

/** What one attempt did, as the attempt log shows it. */
export interface AttemptRecord {
  attempt: number;
  startedAt: number;
  durationMs: number;
  status?: number;
  error?: string;
  /** At most RESPONSE_EXCERPT_BYTES of the response body. */
  responseExcerpt: string;
  outcome: AttemptOutcome;
}

/** Failure types the delivery workflow tells apart; every failure carries its AttemptRecord. */
export const DeliveryFailure = {
  /** 4xx other than 408/429: the endpoint refused this event; retrying cannot help. */
  rejected: 'EndpointRejected',
  /** 410: the endpoint is gone; the delivery dead-letters and the endpoint is disabled. */
  gone: 'EndpointGone',
  /** 408, 429, 5xx, 3xx (redirects are not followed), timeouts, connection errors: retry. */
  unavailable: 'EndpointUnavailable',
  /** The target resolves to an address deliveries may not reach. */
  forbidden: 'ForbiddenAddress',
} as const;

export const RESPONSE_EXCERPT_BYTES = 4096;

export interface DeliveryDeps {
  /** An undici dispatcher with the SSRF connector; pooled connections per origin. */
  dispatcher: Dispatcher;
  /** Longest `Retry-After` honoured; longer ones are cut to this. */
  maxRetryAfterMs: number;
}

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

/** Activities that push to endpoints; the worker hands in the dispatcher, tests a local one. */
export const createDeliveryActivities = ({ dispatcher, maxRetryAfterMs }: DeliveryDeps) => ({
  /**
   * One signed HTTP POST. Resolves with the attempt record on 2xx; otherwise throws an
   * ApplicationFailure of a DeliveryFailure type, non-retryable when retrying cannot help, with the
   * record as its detail and, on `Retry-After`, the delay the server asked for.
   */
  deliverToEndpoint: async (delivery: DeliveryRequest): Promise<AttemptRecord> => {
    const attempt = Context.current().info.attempt;
    const startedAt = Date.now();
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'Ferry-Webhooks/1',
      ...delivery.headers,
      ...signatureHeaders({ id: delivery.messageId, timestamp: new Date(startedAt), body: delivery.body }, signingKeys(delivery.keys, startedAt)),
    };
    let record: AttemptRecord;
    let failureType: string | undefined;
    let retryAfter: number | undefined;
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
      record = { attempt, startedAt, durationMs: Date.now() - startedAt, status: res.statusCode, responseExcerpt, outcome };
      failureType = type;
      if (outcome === 'retry') retryAfter = retryAfterMs(res.headers['retry-after'], Date.now());
    } catch (err) {
      const forbidden = err instanceof ForbiddenAddressError || (err instanceof Error && err.cause instanceof ForbiddenAddressError);
      const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      record = { attempt, startedAt, durationMs: Date.now() - startedAt, error: message, responseExcerpt: '', outcome: forbidden ? 'permanent' : 'retry' };
      failureType = forbidden ? DeliveryFailure.forbidden : DeliveryFailure.unavailable;
    }
    if (record.outcome === 'success') return record;
    throw ApplicationFailure.create({
      type: failureType,
      message: record.status === undefined ? record.error : `endpoint answered ${record.status}`,
      nonRetryable: record.outcome === 'permanent',
      details: [record],
      nextRetryDelay: retryAfter === undefined ? undefined : Math.min(retryAfter, maxRetryAfterMs),
    });
  },
});
