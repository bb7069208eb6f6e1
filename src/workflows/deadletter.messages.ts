import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { JobRef } from './job.messages';
import type { IndexEntry } from './ordered-index.messages';
import type { QueueInput } from './queue.messages';

/** A dead letter is started like a ready index: the same snapshot and limits. */
export type DeadLetterInput = QueueInput;

export interface RespawnDeadRequest {
  limit: number;
  ttl: number;
}

export interface DeadLetterStats {
  size: number;
  head: string[];
}

/** A job ran out of tries; sent by the job workflow. */
export const deadSignal = defineSignal<[IndexEntry]>('dead');
/** A dead job was deleted by id. */
export const deadLeftSignal = defineSignal<[JobRef]>('left');
/** Respawns the oldest dead jobs; the signal is what operators send from the Temporal CLI. */
export const respawnDeadSignal = defineSignal<[Partial<RespawnDeadRequest>]>('respawn');
/** The same as the signal, answering how many jobs were respawned. */
export const respawnDeadUpdate = defineUpdate<number, [RespawnDeadRequest]>('respawn');
export const deleteDeadUpdate = defineUpdate<number, [{ limit: number }]>('delete');
export const deadLetterStatsQuery = defineQuery<DeadLetterStats, [{ head: number }]>('stats');
