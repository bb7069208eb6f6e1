import { DEFAULT_SETTINGS } from '../../src/api/push-schemas';
import { createSecret } from '../../src/push/signing';
import { newEndpoint } from '../../src/workflows/endpoints.messages';
import { pushWorkflowId } from '../../src/workflows/ids';
import { usePushTestBed } from '../helpers/push-test-bed';

/**
 * Deliveries behind a long pause, in skipped time: a push workflow's history stays small (the
 * event is not in activity inputs, and waiting deliveries check back at doubling intervals).
 * Its own file and server, and kept small: with ten deliveries over 48 hours of skipped time the
 * time-skipping server stalled in some runs (an `env.sleep` that never returned; not understood yet).
 */
const taskQueue = 'push-pause-test';
const ns = 'ts-long';
const bed = usePushTestBed(taskQueue, {
  FERRY_PUSH_FAILURES_TO_PAUSE: '5',
  FERRY_PUSH_PAUSE_S: '60',
  FERRY_PUSH_DISABLE_AFTER_S: String(5 * 86_400),
});

test('large events behind a pause of 12 hours keep small histories: no body in activity inputs, doubling waits', async () => {
  const id = 'always-down';
  const url = bed.receiver.script(`/${id}`, 500);
  await bed.directory.put(newEndpoint({ namespace: ns, id }, { ...DEFAULT_SETTINGS, timeoutMs: 5000, retrySchedule: Array(20).fill(1) as number[], url }, createSecret(), Date.now()));
  // Three deliveries wait behind the pause; one at a time probes (using one of its 21 tries), the others check back.
  const marker = `marker-${'m'.repeat(100_000)}`;
  const eventIds = Array.from({ length: 3 }, (_, i) => `ev${i}`);
  for (const eventId of eventIds) {
    await bed.pushes.publish(ns, { event: { id: eventId, type: 'a.b', timestamp: new Date().toISOString(), source: null, correlationId: null, data: { marker }, metadata: null }, endpoints: [id] });
  }
  for (let hour = 0; hour < 12; hour++) await bed.env.sleep('1h');
  const histories = await Promise.all(eventIds.map((eventId) => bed.plain.workflow.getHandle(pushWorkflowId(ns, eventId)).fetchHistory()));
  const scheduled = histories.map((h) => (h.events ?? []).filter((ev) => ev.activityTaskScheduledEventAttributes).length);
  console.log(`activities scheduled per push over 12 hours: ${scheduled.join(' ')}; history bytes: ${histories.map((h) => JSON.stringify(h).length).join(' ')}`);
  // Checking back every 60 s, each push would schedule an activity a minute (720), each carrying the 100 KB event.
  expect(Math.max(...scheduled)).toBeLessThan(40);
  for (const history of histories) expect(JSON.stringify(history).length).toBeLessThan(1_000_000);
  // Every probe sent the event as published.
  const hits = bed.receiver.to(`/${id}`);
  expect(hits.length).toBeGreaterThan(10);
  expect((JSON.parse(hits.at(-1)!.body) as { data: { marker: string } }).data.marker).toBe(marker);
}, 120_000);
