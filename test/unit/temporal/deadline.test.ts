import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { ConnectionOptions } from '@temporalio/client';
import { Client, Connection } from '@temporalio/client';
import { retryWithinDeadline } from '../../../src/temporal/connect';

// A port nothing listens on: every attempt is refused at once, and the SDK retries after growing
// sleeps that end 170, 459, 950, 1785, 3205 ms after the first attempt (each sleep ± 20%). A
// deadline of 2.2 s falls in the fifth (the fourth ends by 2,142 ms), which ends 2,564 ms at the earliest.
let address: string;
const connections: Connection[] = [];

function clientWith(interceptors?: ConnectionOptions['interceptors']): Client {
  const connection = Connection.lazy({ address, interceptors });
  connections.push(connection);
  return new Client({ connection });
}

/** Milliseconds until an unreachable Temporal's answer to a call with a 2.2-s deadline, and the error. */
async function unreachableCall(client: Client): Promise<{ tookMs: number; code: unknown }> {
  const started = Date.now();
  const err = await client.withDeadline(Date.now() + 2200, () => client.workflowService.getSystemInfo({})).then(
    () => undefined,
    (e: unknown) => e as { code?: unknown },
  );
  return { tookMs: Date.now() - started, code: err?.code };
}

beforeAll(async () => {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  address = `127.0.0.1:${(probe.address() as AddressInfo).port}`;
  await new Promise((resolve) => probe.close(resolve));
});

afterAll(async () => {
  await Promise.all(connections.map((c) => c.close()));
});

test('a call to an unreachable Temporal fails at its deadline, not a retry sleep later', async () => {
  const { tookMs, code } = await unreachableCall(clientWith([retryWithinDeadline()]));
  // DEADLINE_EXCEEDED, or UNAVAILABLE when the last sleep's timer fired a millisecond before the
  // deadline and the attempt it started was refused (seen once in CI).
  expect([4, 14]).toContain(code);
  expect(tookMs).toBeGreaterThanOrEqual(2190);
  expect(tookMs).toBeLessThan(2500);
});

// Should an SDK upgrade make this pass no more, the SDK heeds deadlines and retryWithinDeadline can go.
test('the SDK retry on its own answers when its sleep ends, after the deadline', async () => {
  const { tookMs, code } = await unreachableCall(clientWith());
  expect(code).toBe(4);
  expect(tookMs).toBeGreaterThanOrEqual(2550);
});
