import { loadConfig, retentionPolicy } from '../../../src/config';
import { KEEP_MS, RetentionPolicy } from '../../../src/temporal/retention';

const DAY = 86_400_000;
const now = Date.parse('2026-12-03T12:00:00Z');

describe('retention policy', () => {
  test('the configuration: 7 days by default, namespaces of their own, which also drop their dead jobs', () => {
    const defaults = retentionPolicy(loadConfig({}));
    expect([defaults.pushesMs('any'), defaults.deadJobsMs('any')]).toEqual([7 * DAY, 0]);
    const set = retentionPolicy(loadConfig({ FERRY_RETENTION_S: '86400', FERRY_NAMESPACE_RETENTION_S: 'audit=0, short=3600' }));
    expect([set.pushesMs('any'), set.pushesMs('audit'), set.pushesMs('short')]).toEqual([DAY, 0, 3_600_000]);
    expect([set.deadJobsMs('any'), set.deadJobsMs('audit'), set.deadJobsMs('short')]).toEqual([0, 0, 3_600_000]);
    expect(() => loadConfig({ FERRY_NAMESPACE_RETENTION_S: 'audit=7d' })).toThrow(/not <namespace>=<seconds>: "audit=7d"/);
    expect(() => loadConfig({ FERRY_RETENTION_S: '-1' })).toThrow(/FERRY_RETENTION_S/);
  });

  test('Temporal must keep finished workflows as long as the longest retention, for ever when one keeps all', () => {
    expect(new RetentionPolicy(7 * DAY).temporalRetentionMs()).toBe(7 * DAY);
    expect(new RetentionPolicy(3_600_000).temporalRetentionMs()).toBe(DAY);
    expect(new RetentionPolicy(7 * DAY, [['long', 30 * DAY]]).temporalRetentionMs()).toBe(30 * DAY);
    expect(new RetentionPolicy(7 * DAY, [['audit', 0]]).temporalRetentionMs()).toBe(KEEP_MS);
  });

  test('only namespaces kept shorter than Temporal keeps them are deleted by the schedule', () => {
    expect(new RetentionPolicy(7 * DAY).expiredPushesQuery('ferry', now)).toBeUndefined();
    expect(new RetentionPolicy(7 * DAY, [['short', DAY]]).expiredPushesQuery('ferry', now)).toBe(
      "WorkflowType = 'PushWorkflow' AND TaskQueue = 'ferry' AND ExecutionStatus != 'Running' AND " +
        "((FerryNamespace = 'short' AND StartTime < '2026-12-02T12:00:00.000Z'))",
    );
    // One namespace keeps everything: Temporal keeps all for ever, and the schedule deletes the rest.
    expect(new RetentionPolicy(7 * DAY, [['audit', 0], ['short', DAY]]).expiredPushesQuery('ferry', now)).toBe(
      "WorkflowType = 'PushWorkflow' AND TaskQueue = 'ferry' AND ExecutionStatus != 'Running' AND " +
        "((FerryNamespace = 'short' AND StartTime < '2026-12-02T12:00:00.000Z') OR " +
        "(StartTime < '2026-11-26T12:00:00.000Z' AND FerryNamespace NOT IN ('audit', 'short')))",
    );
    expect(new RetentionPolicy(0).expiredPushesQuery('ferry', now)).toBeUndefined();
  });
});
