import type { IndexEntry, IndexLimits, IndexSnapshot, Lease, SpilledRange } from './ordered-index.messages';
import { DEFAULT_INDEX_LIMITS } from './ordered-index.messages';

const before = (a: IndexEntry, b: IndexEntry): boolean =>
  a.since < b.since || (a.since === b.since && a.jobId < b.jobId);

/**
 * An ordered set of job ids, oldest first, with leases: the data structure behind the ready list of
 * a queue and the dead letter of a queue. Pure and deterministic, so it runs inside workflows and is
 * unit-tested on its own.
 *
 * Entries are hints, not truth: the job workflow owns the job's state. An entry carries the job's
 * `epoch` (how many times it changed state) so a late signal about an older state is ignored.
 *
 * Bounded memory: a workflow's state must fit in one continue-as-new payload (2 MB), so the index
 * keeps at most about `maxInMemory` entries: the head (what consumers take next) and the newest
 * ones. The middle is *spilled*: only counted, per range of `since`, because every job also carries
 * its state and `since` as search attributes, from which visibility lists a range back when the head
 * runs low (see `nextRefill`/`completeRefill`).
 */
export class OrderedIndex {
  /** Sorted by (since, jobId); removed entries stay as holes until the next compaction. */
  private slots: (IndexEntry | undefined)[] = [];
  private head = 0;
  private holes = 0;
  private readonly positions = new Map<string, IndexEntry>();
  private readonly leases = new Map<string, Lease>();
  private spilled: SpilledRange[];
  private loading: SpilledRange | undefined;
  private readonly removedWhileLoading = new Set<string>();
  /** When a short listing may be retried. */
  private refillNotBefore = 0;

  constructor(
    snapshot?: IndexSnapshot,
    private readonly limits: IndexLimits = DEFAULT_INDEX_LIMITS,
  ) {
    this.spilled = snapshot?.spilled?.map((r) => ({ ...r })) ?? [];
    for (const entry of snapshot?.entries ?? []) this.insert(entry);
    for (const lease of snapshot?.leases ?? []) this.leases.set(lease.jobId, lease);
  }

  /** Ready entries, excluding leased ones, spilled ones included. */
  get size(): number {
    return this.positions.size + this.spilledCount;
  }

  get leasedCount(): number {
    return this.leases.size;
  }

  /** The oldest spilled range: what comes after the entries `peek` can see. */
  get firstSpilled(): SpilledRange | undefined {
    const first = this.spilled[0];
    return first && { ...first };
  }

  get spilledCount(): number {
    return this.spilled.reduce((n, r) => n + r.count, 0);
  }

  /** Entries that can be taken now: those in memory before the first spilled range. */
  get available(): number {
    const first = this.spilled[0];
    if (!first) return this.positions.size;
    let n = 0;
    for (let i = this.head; i < this.slots.length; i++) {
      const entry = this.slots[i];
      if (!entry) continue;
      if (entry.since >= first.from) break;
      n++;
    }
    return n;
  }

  /** Adds an entry unless the index already knows this job at the same or a newer epoch. */
  add(entry: IndexEntry, now: number): boolean {
    const known = this.positions.get(entry.jobId) ?? this.leases.get(entry.jobId);
    if (known && known.epoch >= entry.epoch) return false;
    if (known) this.remove(entry.jobId);
    const range = this.rangeOf(entry.since);
    if (range) range.count++;
    else this.insert(entry);
    this.spillIfFull(now);
    return true;
  }

  /**
   * Removes a job (ready, leased or spilled) if held at an epoch not newer than `epoch`. A spilled
   * job is found by its `since`.
   */
  remove(jobId: string, epoch = Number.MAX_SAFE_INTEGER, since?: number): boolean {
    const lease = this.leases.get(jobId);
    if (lease && lease.epoch <= epoch) {
      this.leases.delete(jobId);
      return true;
    }
    const entry = this.positions.get(jobId);
    if (entry) {
      if (entry.epoch > epoch) return false;
      this.positions.delete(jobId);
      const at = this.slots.indexOf(entry, this.head);
      if (at >= 0) {
        this.slots[at] = undefined;
        this.holes++;
      }
      this.compact();
      return true;
    }
    const range = since === undefined ? undefined : this.rangeOf(since);
    if (!range || range.count === 0) return false;
    range.count--;
    if (range === this.loading) this.removedWhileLoading.add(jobId);
    return true;
  }

  /** The oldest `limit` entries that can be taken, oldest first, without changing anything. */
  peek(limit: number): IndexEntry[] {
    const found: IndexEntry[] = [];
    const boundary = this.spilled[0]?.from ?? Infinity;
    for (let i = this.head; i < this.slots.length && found.length < limit; i++) {
      const entry = this.slots[i];
      if (entry && entry.since >= boundary) break;
      if (entry) found.push(entry);
    }
    return found;
  }

  /** Removes and returns up to `limit` of the oldest entries; never passes a spilled range. */
  take(limit: number): IndexEntry[] {
    const taken: IndexEntry[] = [];
    const boundary = this.spilled[0]?.from ?? Infinity;
    while (this.head < this.slots.length && taken.length < limit) {
      const entry = this.slots[this.head];
      if (entry && entry.since >= boundary) break;
      this.slots[this.head] = undefined;
      this.head++;
      if (!entry) {
        this.holes--;
        continue;
      }
      this.positions.delete(entry.jobId);
      taken.push(entry);
    }
    this.compact();
    return taken;
  }

  /** Takes the oldest `limit` entries and holds them as leases until `leasedUntil`. */
  lease(limit: number, leasedUntil: number): Lease[] {
    return this.take(limit).map((entry) => {
      const lease = { ...entry, leasedUntil };
      this.leases.set(entry.jobId, lease);
      return lease;
    });
  }

  /** Drops leases whose holder found the job was not ready any more. */
  forget(jobIds: readonly string[]): void {
    for (const jobId of jobIds) this.leases.delete(jobId);
  }

  /** Returns leases that outlived their deadline to their place in the order. */
  expireLeases(now: number): number {
    let returned = 0;
    for (const lease of [...this.leases.values()]) {
      if (lease.leasedUntil > now) continue;
      this.leases.delete(lease.jobId);
      this.add({ jobId: lease.jobId, epoch: lease.epoch, since: lease.since }, now);
      returned++;
    }
    return returned;
  }

  nextLeaseDeadline(): number | undefined {
    let next: number | undefined;
    for (const lease of this.leases.values()) {
      if (next === undefined || lease.leasedUntil < next) next = lease.leasedUntil;
    }
    return next;
  }

  /**
   * The spilled range to load from visibility now, if the head runs low and none is loading; it
   * stays marked as loading until `completeRefill` or `abandonRefill`.
   */
  nextRefill(now: number): SpilledRange | undefined {
    const first = this.spilled[0];
    if (!first || this.loading || now < this.refillNotBefore) return undefined;
    if (this.available >= this.limits.refillBelow) return undefined;
    this.loading = first;
    this.removedWhileLoading.clear();
    return { ...first };
  }

  /** When a refill that came back short may be tried again; undefined when none waits. */
  get refillRetryAt(): number | undefined {
    return this.spilled.length > 0 && this.refillNotBefore > 0 ? this.refillNotBefore : undefined;
  }

  /**
   * Puts the listed jobs of the loading range back in memory. Answers false, keeping the range,
   * when visibility listed fewer jobs than counted and may still be catching up.
   */
  completeRefill(listed: IndexEntry[], now: number): boolean {
    const range = this.loading;
    this.loading = undefined;
    if (!range) return false;
    const fresh = listed.filter(
      (e) => e.since >= range.from && e.since <= range.to && !this.removedWhileLoading.has(e.jobId) && !this.positions.has(e.jobId),
    );
    if (fresh.length < range.count && range.to > now - this.limits.trustAfterMs) {
      this.refillNotBefore = now + 1000;
      return false;
    }
    this.refillNotBefore = 0;
    this.spilled = this.spilled.filter((r) => r !== range);
    for (const entry of fresh) this.insert(entry);
    return true;
  }

  abandonRefill(now: number): void {
    this.loading = undefined;
    this.refillNotBefore = now + 1000;
  }

  /** Removes every entry (leases stay): in-memory ones are returned, spilled ranges too. */
  clear(): { entries: IndexEntry[]; spilled: SpilledRange[] } {
    const spilled = this.spilled;
    this.spilled = [];
    this.loading = undefined;
    const entries: IndexEntry[] = [];
    for (let i = this.head; i < this.slots.length; i++) {
      const entry = this.slots[i];
      if (entry) entries.push(entry);
    }
    this.slots = [];
    this.head = 0;
    this.holes = 0;
    this.positions.clear();
    return { entries, spilled };
  }

  snapshot(): IndexSnapshot {
    const entries: IndexEntry[] = [];
    for (let i = this.head; i < this.slots.length; i++) {
      const entry = this.slots[i];
      if (entry) entries.push(entry);
    }
    return { entries, leases: [...this.leases.values()], spilled: this.spilled.map((r) => ({ ...r })) };
  }

  private rangeOf(since: number): SpilledRange | undefined {
    return this.spilled.find((r) => r.from <= since && since <= r.to);
  }

  private insert(entry: IndexEntry): void {
    const copy: IndexEntry = { jobId: entry.jobId, epoch: entry.epoch, since: entry.since };
    this.positions.set(copy.jobId, copy);
    let at = this.slots.length;
    // Jobs almost always arrive in order, so the insertion point is found from the tail.
    while (at > this.head) {
      const prev = this.slots[at - 1];
      if (prev === undefined || before(copy, prev)) at--;
      else break;
    }
    if (at === this.slots.length) this.slots.push(copy);
    else this.slots.splice(at, 0, copy);
  }

  /**
   * Moves settled entries past the head (or after the last spilled range) into spilled ranges. Range
   * bounds fall between distinct `since` values, so a range is exactly what a visibility query on
   * `since` returns.
   */
  private spillIfFull(now: number): void {
    if (this.positions.size <= this.limits.maxInMemory || this.loading) return;
    const live: IndexEntry[] = [];
    for (let i = this.head; i < this.slots.length; i++) {
      const entry = this.slots[i];
      if (entry) live.push(entry);
    }
    const last = this.spilled[this.spilled.length - 1];
    let start = last ? live.findIndex((e) => e.since > last.to) : this.limits.keepHead;
    if (start < 0) return;
    while (start > 0 && start < live.length && live[start]!.since === live[start - 1]!.since) start++;
    let end = start;
    while (end < live.length && live[end]!.since <= now - this.limits.settleMs) end++;
    while (end > start && end < live.length && live[end]!.since === live[end - 1]!.since) end--;
    if (end <= start) return;

    for (let i = start; i < end; i++) {
      const entry = live[i]!;
      const tail = this.spilled[this.spilled.length - 1];
      // Entries come in order; a full range still takes the rest of its last `since`.
      if (!tail || (tail.count >= this.limits.rangeSize && entry.since > tail.to)) {
        this.spilled.push({ from: entry.since, to: entry.since, count: 1 });
      } else {
        tail.to = entry.since;
        tail.count++;
      }
      this.positions.delete(entry.jobId);
    }
    const kept = [...live.slice(0, start), ...live.slice(end)];
    this.slots = kept;
    this.head = 0;
    this.holes = 0;
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.slots.length) {
      this.slots = this.slots.slice(this.head);
      this.head = 0;
    }
    if (this.holes > 1024 && this.holes * 2 > this.slots.length - this.head) {
      this.slots = this.slots.slice(this.head).filter((e): e is IndexEntry => e !== undefined);
      this.head = 0;
      this.holes = 0;
    }
  }
}
