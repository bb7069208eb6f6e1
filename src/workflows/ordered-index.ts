/**
 * An ordered set of job ids, oldest first, with leases: the data structure behind the ready list of
 * a queue and the dead letter of a queue. Pure and deterministic, so it runs inside workflows and is
 * unit-tested on its own.
 *
 * Entries are hints, not truth: the job workflow owns the job's state. An entry carries the job's
 * `epoch` (how many times it changed state) so a late signal about an older state is ignored.
 */
export interface IndexEntry {
  jobId: string;
  /** The job's state counter when it entered this index. */
  epoch: number;
  /** Milliseconds since the epoch at which the job entered this index; the sort key. */
  since: number;
}

export interface Lease extends IndexEntry {
  leasedUntil: number;
}

export interface IndexSnapshot {
  entries: IndexEntry[];
  leases: Lease[];
}

const before = (a: IndexEntry, b: IndexEntry): boolean =>
  a.since < b.since || (a.since === b.since && a.jobId < b.jobId);

export class OrderedIndex {
  /** Sorted by (since, jobId); removed entries stay as holes until the next compaction. */
  private slots: (IndexEntry | undefined)[] = [];
  private head = 0;
  private readonly positions = new Map<string, IndexEntry>();
  private readonly leases = new Map<string, Lease>();
  private holes = 0;

  constructor(snapshot?: IndexSnapshot) {
    for (const entry of snapshot?.entries ?? []) this.add(entry);
    for (const lease of snapshot?.leases ?? []) this.leases.set(lease.jobId, lease);
  }

  /** Ready entries, excluding leased ones. */
  get size(): number {
    return this.positions.size;
  }

  get leasedCount(): number {
    return this.leases.size;
  }

  /** Adds an entry unless the index already knows this job at the same or a newer epoch. */
  add(entry: IndexEntry): boolean {
    const known = this.positions.get(entry.jobId) ?? this.leases.get(entry.jobId);
    if (known && known.epoch >= entry.epoch) return false;
    if (known) this.remove(entry.jobId);
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
    return true;
  }

  /** Removes a job (ready or leased) if it is held at an epoch not newer than `epoch`. */
  remove(jobId: string, epoch = Number.MAX_SAFE_INTEGER): boolean {
    const lease = this.leases.get(jobId);
    if (lease && lease.epoch <= epoch) {
      this.leases.delete(jobId);
      return true;
    }
    const entry = this.positions.get(jobId);
    if (!entry || entry.epoch > epoch) return false;
    this.positions.delete(jobId);
    const at = this.slots.indexOf(entry, this.head);
    if (at >= 0) {
      this.slots[at] = undefined;
      this.holes++;
    }
    this.compact();
    return true;
  }

  /** The oldest `limit` ready entries, oldest first, without changing anything. */
  peek(limit: number): IndexEntry[] {
    const found: IndexEntry[] = [];
    for (let i = this.head; i < this.slots.length && found.length < limit; i++) {
      const entry = this.slots[i];
      if (entry) found.push(entry);
    }
    return found;
  }

  /** Removes and returns the oldest `limit` ready entries. */
  take(limit: number): IndexEntry[] {
    const taken: IndexEntry[] = [];
    while (this.head < this.slots.length && taken.length < limit) {
      const entry = this.slots[this.head];
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

  /** Returns leases that outlived their deadline to their place in the ready order. */
  expireLeases(now: number): number {
    let returned = 0;
    for (const lease of [...this.leases.values()]) {
      if (lease.leasedUntil > now) continue;
      this.leases.delete(lease.jobId);
      this.add(lease);
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

  /** Removes every ready entry (leases stay) and returns them, oldest first. */
  clear(): IndexEntry[] {
    return this.take(this.positions.size);
  }

  snapshot(): IndexSnapshot {
    return { entries: this.peek(this.positions.size), leases: [...this.leases.values()] };
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
