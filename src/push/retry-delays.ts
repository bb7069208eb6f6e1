import type { Backoff, EndpointSettings } from '../workflows/endpoints.messages';

/** The delays (ms) of a backoff: `min(maxDelayMs, initialDelayMs * factor^n)` for each retry n. */
export function backoffDelaysMs({ initialDelayMs, maxDelayMs, factor, maxRetries }: Backoff): number[] {
  return Array.from({ length: maxRetries }, (_, n) => Math.min(maxDelayMs, Math.round(initialDelayMs * factor ** n)));
}

/** How long a delivery to this endpoint waits before each retry, in ms: its backoff's, or its schedule's. */
export const retryDelaysMs = (endpoint: Pick<EndpointSettings, 'retrySchedule' | 'backoff'>): number[] =>
  endpoint.backoff ? backoffDelaysMs(endpoint.backoff) : endpoint.retrySchedule.map((s) => s * 1000);
