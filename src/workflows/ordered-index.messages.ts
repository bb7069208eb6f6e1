/**
 * What the queue and dead-letter indexes take and hand out (their entries, leases and snapshots)
 * and the memory bounds they start with: shared by the workflows, their activities and the API.
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

/** Jobs held only as a count: every entry with `from <= since <= to` lives in visibility alone. */
export interface SpilledRange {
  from: number;
  to: number;
  count: number;
}

export interface IndexSnapshot {
  entries: IndexEntry[];
  leases: Lease[];
  spilled?: SpilledRange[];
}

export interface IndexLimits {
  /** Above this many entries in memory, settled entries past the head are spilled. */
  maxInMemory: number;
  /** Entries kept in memory at the head when spilling. */
  keepHead: number;
  /** Entries per spilled range. */
  rangeSize: number;
  /** A range is loaded back when fewer than this many entries are left before it. */
  refillBelow: number;
  /** Only entries at least this old are spilled, so visibility has indexed them. */
  settleMs: number;
  /** A range visibility lists short is retried until its newest entry is this old; then it is trusted. */
  trustAfterMs: number;
}

export const DEFAULT_INDEX_LIMITS: IndexLimits = {
  maxInMemory: 5000,
  keepHead: 2000,
  rangeSize: 1000,
  refillBelow: 1000,
  settleMs: 10_000,
  trustAfterMs: 60_000,
};
