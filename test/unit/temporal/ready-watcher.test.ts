import { ReadyWatcher } from '../../../src/temporal/ready-watcher';

/** A waiting call that only ends when aborted, as Temporal's would with no job coming. */
function neverReady() {
  const calls: { timeoutMs: number; aborted: boolean }[] = [];
  const awaitReady = (timeoutMs: number, signal: AbortSignal) =>
    new Promise<boolean>((resolve) => {
      const call = { timeoutMs, aborted: false };
      calls.push(call);
      signal.addEventListener('abort', () => {
        call.aborted = true;
        resolve(false);
      });
    });
  return { calls, awaitReady };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('ReadyWatcher', () => {
  test('one waiting call serves every waiter, and ends when the last waiter leaves', async () => {
    const { calls, awaitReady } = neverReady();
    const watcher = new ReadyWatcher(awaitReady, () => undefined);
    const a = new AbortController();
    const b = new AbortController();
    const waits = [watcher.wait(Date.now() + 60_000, a.signal), watcher.wait(Date.now() + 60_000, b.signal)];
    await tick();
    expect(calls).toHaveLength(1);
    a.abort();
    await waits[0];
    expect(calls[0]!.aborted).toBe(false);
    b.abort();
    await waits[1];
    await tick();
    expect(calls[0]!.aborted).toBe(true);
    expect(calls).toHaveLength(1);
  });

  test('close wakes the waiters and ends the call', async () => {
    const { calls, awaitReady } = neverReady();
    const watcher = new ReadyWatcher(awaitReady, () => undefined);
    const waiting = watcher.wait(Date.now() + 60_000);
    await tick();
    await watcher.close();
    await waiting;
    expect(calls.map((c) => c.aborted)).toEqual([true]);
    await watcher.wait(Date.now() + 60_000);
  });

  test('a waiting call is bounded by the latest waiter and by maxCallMs', async () => {
    const { calls, awaitReady } = neverReady();
    const watcher = new ReadyWatcher(awaitReady, () => undefined, 50_000);
    const waiting = watcher.wait(Date.now() + 120_000);
    await tick();
    expect(calls[0]!.timeoutMs).toBe(50_000);
    await watcher.close();
    await waiting;
  });
});
