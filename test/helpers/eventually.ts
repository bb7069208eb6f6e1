/**
 * Retries an assertion until it passes or `timeoutMs` runs out: index workflows learn about a job
 * from a signal, a few milliseconds after the job's own state changed.
 */
export async function eventually(assertion: () => Promise<void>, timeoutMs = 5000, intervalMs = 20): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      await assertion();
      return;
    } catch (err) {
      if (Date.now() >= until) throw err;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}
