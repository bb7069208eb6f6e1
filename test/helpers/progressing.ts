/**
 * Waits for the server the way a patient client does, so a slow machine makes a test slower, not
 * red: `assertion` is retried for as long as `progress()` keeps changing (jobs consumed, events
 * delivered), and fails only when nothing moved for `stallMs`. The failure says what was measured:
 * `describe()` and how long the wait ran.
 */
export async function whileProgressing(
  assertion: () => Promise<void>,
  options: { progress: () => number; describe: () => string; stallMs?: number; intervalMs?: number },
): Promise<void> {
  const { progress, describe, stallMs = 120_000, intervalMs = 500 } = options;
  const started = Date.now();
  let last = progress();
  let movedAt = started;
  for (;;) {
    try {
      await assertion();
      return;
    } catch (err) {
      const now = progress();
      if (now !== last) [last, movedAt] = [now, Date.now()];
      if (Date.now() - movedAt >= stallMs) {
        const waited = Math.round((Date.now() - started) / 1000);
        throw new Error(`no progress for ${stallMs / 1000} s after ${waited} s of waiting: ${describe()}\n${String(err)}`);
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}

/**
 * Sends a request again while it answers 503 (Temporal behind, or not confirmed in time), after the
 * Retry-After it gives, as the README tells clients to; a publish resent this way must carry the
 * same Idempotency-Key. Gives up after `budgetMs` of refusals and answers the last 503.
 */
export async function retryUnavailable(send: () => Promise<Response>, budgetMs = 5 * 60_000): Promise<Response> {
  const until = Date.now() + budgetMs;
  for (;;) {
    const res = await send();
    if (res.status !== 503 || Date.now() >= until) return res;
    await res.arrayBuffer();
    await new Promise((r) => setTimeout(r, Number(res.headers.get('retry-after') ?? 1) * 1000));
  }
}
