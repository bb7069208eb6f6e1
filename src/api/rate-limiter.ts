import type { TokenRecord } from '../workflows/tokens.messages';

/**
 * lmstfy's per-token limits: a fixed window of `interval` seconds with separate read (consume) and
 * write (publish) budgets. Counted per API process.
 */
export class RateLimiter {
  private readonly windows = new Map<string, { start: number; read: number; write: number }>();

  /** Counts one call; false when it is over the limit (and then it is not counted). */
  acquire(record: TokenRecord, kind: 'read' | 'write', now = Date.now()): boolean {
    const limit = record.limit;
    if (!limit || limit[kind] <= 0) return true;
    const key = `${record.namespace}/${record.hash}`;
    let window = this.windows.get(key);
    if (!window || now - window.start >= limit.interval * 1000) {
      window = { start: now, read: 0, write: 0 };
      this.windows.set(key, window);
    }
    if (window[kind] >= limit[kind]) return false;
    window[kind]++;
    return true;
  }

  /** lmstfy does not charge calls that found no job or failed. */
  refund(record: TokenRecord, kind: 'read' | 'write'): void {
    const window = this.windows.get(`${record.namespace}/${record.hash}`);
    if (window && window[kind] > 0) window[kind]--;
  }
}
