import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { JobRef } from './job.messages';
import type { IndexEntry, IndexLimits, IndexSnapshot, Lease, SpilledRange } from './ordered-index.messages';

export interface QueueRef {
  namespace: string;
  queue: string;
}

export interface QueueInput extends QueueRef {
  snapshot?: IndexSnapshot;
  /** Absent in indexes started before limits were configurable: the defaults. */
  limits?: IndexLimits;
  /** Carried across continue-as-new; absent: not paused. */
  paused?: boolean;
}

export interface LeaseRequest {
  count: number;
  /** How long the caller may take to move the leased jobs to working before they return. */
  leaseMs: number;
  /** Leases of the caller's earlier batch to settle first, as `forget` does (absent: none). */
  settle?: string[];
}

export interface QueueStats {
  size: number;
  leased: number;
  /** Of `size`, the jobs held only as a count (see OrderedIndex). */
  spilled: number;
  head: string[];
  /** The oldest spilled range; the head ends where it begins. */
  firstSpilled?: SpilledRange;
  /** When the oldest ready job became ready (ms since the epoch); absent when none is ready. */
  oldestReadySince?: number;
  /** Consumes find nothing while paused; publishes still add jobs. Absent: not paused. */
  paused?: boolean;
}

/** Jobs entered ready; sent by a job workflow, or once per publish call for jobs without delay. */
export const readySignal = defineSignal<[IndexEntry[]]>('ready');
/** A job left ready (consumed, acked, expired) at the given epoch. */
export const leftSignal = defineSignal<[JobRef]>('left');
/** Settles leases: their jobs were consumed, or turned out not to be ready any more (or on the next `lease`). */
export const forgetSignal = defineSignal<[{ jobIds: string[] }]>('forget');
/** Takes the oldest ready jobs; rejected when none is ready, so an empty poll writes no history. */
export const leaseUpdate = defineUpdate<Lease[], [LeaseRequest]>('lease');
/** Resolves true as soon as a job is ready, false after `timeoutMs`; one per waiting API process. */
export const awaitReadyUpdate = defineUpdate<boolean, [{ timeoutMs: number }]>('awaitReady');
/** Drops every ready entry and returns them (and spilled ranges) so the caller can end those jobs. */
export const destroyUpdate = defineUpdate<{ entries: IndexEntry[]; spilled: SpilledRange[] }, []>('destroy');
export const statsQuery = defineQuery<QueueStats, [{ head: number }]>('stats');
/** Pauses or resumes consuming (BullMQ's `pause()`); answers the state now in force. */
export const setPausedUpdate = defineUpdate<{ paused: boolean }, [{ paused: boolean }]>('setPaused');

/** Type of the failure a lease is rejected with when nothing is ready; the API maps it to 404. */
export const QUEUE_EMPTY = 'QueueEmpty';
