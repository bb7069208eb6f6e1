import type { IndexEntry, IndexLimits } from '../../../src/workflows/ordered-index.messages';
import { OrderedIndex } from '../../../src/workflows/ordered-index';

const limits: IndexLimits = { maxInMemory: 10, keepHead: 4, rangeSize: 3, refillBelow: 2, settleMs: 1000, trustAfterMs: 60_000 };
const entry = (n: number, since = n * 10): IndexEntry => ({ jobId: `j${String(n).padStart(3, '0')}`, epoch: 1, since });
const ids = (entries: IndexEntry[]) => entries.map((e) => e.jobId);

describe('OrderedIndex', () => {
  test('keeps entries in (since, jobId) order whatever order they arrive in', () => {
    const index = new OrderedIndex();
    for (const n of [3, 1, 2, 5, 4]) index.add(entry(n), 0);
    index.add({ jobId: 'j000b', epoch: 1, since: 0 }, 0);
    index.add({ jobId: 'j000a', epoch: 1, since: 0 }, 0);
    expect(ids(index.take(10))).toEqual(['j000a', 'j000b', 'j001', 'j002', 'j003', 'j004', 'j005']);
  });

  test('ignores a signal about an older epoch and replaces an entry on a newer one', () => {
    const index = new OrderedIndex();
    index.add({ jobId: 'a', epoch: 2, since: 50 }, 0);
    expect(index.add({ jobId: 'a', epoch: 1, since: 10 }, 0)).toBe(false);
    expect(index.remove('a', 1)).toBe(false);
    expect(index.add({ jobId: 'a', epoch: 3, since: 5 }, 0)).toBe(true);
    expect(index.peek(5)).toEqual([{ jobId: 'a', epoch: 3, since: 5 }]);
    expect(index.remove('a', 3)).toBe(true);
    expect(index.size).toBe(0);
  });

  test('leases leave the ready count, expire back into their place, and can be forgotten', () => {
    const index = new OrderedIndex();
    for (let n = 1; n <= 3; n++) index.add(entry(n), 0);
    expect(ids(index.lease(2, 100))).toEqual(['j001', 'j002']);
    expect([index.size, index.leasedCount]).toEqual([1, 2]);
    index.forget(['j002']);
    expect(index.nextLeaseDeadline()).toBe(100);
    expect(index.expireLeases(99)).toBe(0);
    expect(index.expireLeases(100)).toBe(1);
    expect(ids(index.peek(5))).toEqual(['j001', 'j003']);
  });

  test('spills settled entries past the head into counted ranges, and loads them back in order', () => {
    const index = new OrderedIndex(undefined, limits);
    for (let n = 1; n <= 12; n++) index.add(entry(n), 5000);
    // The 11th entry overflows memory: 5..11 (all settled) spill in ranges of 3; 12 arrives after.
    expect(index.size).toBe(12);
    expect(index.spilledCount).toBe(7);
    expect(index.available).toBe(4);
    expect(index.snapshot().spilled).toEqual([
      { from: 50, to: 70, count: 3 },
      { from: 80, to: 100, count: 3 },
      { from: 110, to: 110, count: 1 },
    ]);
    expect(ids(index.snapshot().entries)).toEqual(['j001', 'j002', 'j003', 'j004', 'j012']);
    // The head never passes a spilled range.
    expect(ids(index.take(10))).toEqual(['j001', 'j002', 'j003', 'j004']);
    const range = index.nextRefill(5000);
    expect(range).toEqual({ from: 50, to: 70, count: 3 });
    expect(index.nextRefill(5000)).toBeUndefined();
    expect(index.completeRefill([entry(6), entry(5), entry(7)], 5000)).toBe(true);
    expect(ids(index.take(10))).toEqual(['j005', 'j006', 'j007']);
    expect(index.size).toBe(5);
    index.nextRefill(5000);
    index.completeRefill([entry(8), entry(9), entry(10)], 5000);
    // The head holds 3 >= refillBelow, so the next range waits until it runs low.
    expect(index.nextRefill(5000)).toBeUndefined();
    expect(ids(index.take(10))).toEqual(['j008', 'j009', 'j010']);
    index.nextRefill(5000);
    index.completeRefill([entry(11)], 5000);
    expect(ids(index.take(10))).toEqual(['j011', 'j012']);
  });

  test('does not spill entries younger than settleMs', () => {
    const index = new OrderedIndex(undefined, limits);
    for (let n = 1; n <= 12; n++) index.add(entry(n), 600);
    // Only entries with since <= 600 - 1000 would settle: none.
    expect(index.spilledCount).toBe(0);
    expect(index.size).toBe(12);
  });

  test('a job that leaves while spilled is found by its since', () => {
    const index = new OrderedIndex(undefined, limits);
    for (let n = 1; n <= 12; n++) index.add(entry(n), 5000);
    expect(index.remove('j009', 1, 90)).toBe(true);
    expect(index.size).toBe(11);
    expect(index.snapshot().spilled?.[1]).toEqual({ from: 80, to: 100, count: 2 });
    // A late arrival inside a spilled range is counted there.
    index.add({ jobId: 'late', epoch: 1, since: 85 }, 5000);
    expect(index.snapshot().spilled?.[1]?.count).toBe(3);
  });

  test('a short listing is retried until its range is old enough to trust', () => {
    const index = new OrderedIndex(undefined, limits);
    for (let n = 1; n <= 12; n++) index.add(entry(n), 5000);
    index.take(4);
    index.nextRefill(5000);
    expect(index.completeRefill([entry(5)], 5000)).toBe(false);
    expect(index.refillRetryAt).toBe(6000);
    expect(index.nextRefill(5500)).toBeUndefined();
    expect(index.nextRefill(6000)).toEqual({ from: 50, to: 70, count: 3 });
    // Past trustAfterMs the listing is taken as it is and the count corrected.
    expect(index.completeRefill([entry(5)], 70 + 60_001)).toBe(true);
    expect(ids(index.take(10))).toEqual(['j005']);
  });

  test('a job removed while its range loads is not loaded back', () => {
    const index = new OrderedIndex(undefined, limits);
    for (let n = 1; n <= 12; n++) index.add(entry(n), 5000);
    index.take(4);
    index.nextRefill(5000);
    index.remove('j006', 1, 60);
    expect(index.completeRefill([entry(5), entry(6), entry(7)], 5000)).toBe(true);
    expect(ids(index.take(10))).toEqual(['j005', 'j007']);
  });

  test('state survives a snapshot, spilled ranges and leases included', () => {
    const index = new OrderedIndex(undefined, limits);
    for (let n = 1; n <= 12; n++) index.add(entry(n), 5000);
    index.lease(1, 999);
    const copy = new OrderedIndex(JSON.parse(JSON.stringify(index.snapshot())) as ReturnType<OrderedIndex['snapshot']>, limits);
    expect([copy.size, copy.leasedCount, copy.spilledCount]).toEqual([11, 1, 7]);
    expect(ids(copy.peek(10))).toEqual(['j002', 'j003', 'j004']);
  });

  test('clear returns in-memory entries and spilled ranges', () => {
    const index = new OrderedIndex(undefined, limits);
    for (let n = 1; n <= 12; n++) index.add(entry(n), 5000);
    const { entries, spilled } = index.clear();
    expect(entries).toHaveLength(5);
    expect(spilled.reduce((n, r) => n + r.count, 0)).toBe(7);
    expect(index.size).toBe(0);
  });

  test('state stays bounded: 100k entries keep at most maxInMemory plus the unsettled tail', () => {
    const index = new OrderedIndex();
    for (let n = 0; n < 100_000; n++) index.add({ jobId: `j${n}`, epoch: 1, since: n }, 200_000);
    const snapshot = index.snapshot();
    expect(index.size).toBe(100_000);
    expect(snapshot.entries.length).toBeLessThanOrEqual(5000);
    expect(JSON.stringify(snapshot).length).toBeLessThan(512 * 1024);
  });
});
