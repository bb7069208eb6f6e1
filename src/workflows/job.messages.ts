import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

export type JobState = 'delayed' | 'ready' | 'working' | 'dead' | 'acked' | 'expired' | 'destroyed';

/** Everything a job workflow starts from; also what it carries across continue-as-new. */
export interface JobSpec {
  namespace: string;
  queue: string;
  jobId: string;
  /** The job body, base64: lmstfy bodies are opaque bytes and the consume response sends base64. */
  data: string;
  /** Seconds until the job disappears, counted from `publishedAt`; 0 = never. */
  ttl: number;
  tries: number;
  delay: number;
  attributes?: Record<string, string>;
  publishedAt: number;
  /** True when the publisher already put the job in its queue's ready index (delay = 0). */
  indexedByPublisher: boolean;
  /** How long the job stays in the dead letter before it is dropped (ms); absent or 0: until respawned or deleted. */
  deadRetentionMs?: number;
  /** Only set when a run continues as new. */
  resume?: {
    state: JobState;
    epoch: number;
    since: number;
    tries: number;
    expiresAt: number | null;
    workingUntil: number;
    deadUntil?: number | null;
  };
}

/** Names a job at one state of its life; index signals carry it. */
export interface JobRef {
  jobId: string;
  epoch: number;
  /** When the job entered the state it is leaving: finds it in a spilled range. */
  since?: number;
}

/** A job as the queue API shows it. */
export interface JobView {
  namespace: string;
  queue: string;
  jobId: string;
  data: string;
  /** When the server recorded the publish, ms since the epoch. */
  publishedAt: number;
  /** When the job disappears, ms since the epoch; null when it never expires. */
  expiresAt: number | null;
  remainTries: number;
  attributes?: Record<string, string>;
  state: JobState;
}

export interface ConsumeRequest {
  ttr: number;
  freezeTries: boolean;
}

export interface RespawnRequest {
  ttl: number;
}

/** Moves a ready job to working; rejected (not recorded) when the job is not ready. */
export const consumeUpdate = defineUpdate<JobView, [ConsumeRequest]>('consume');
/** lmstfy's ack and delete are one call: the job is gone and never delivered again. */
export const deleteSignal = defineSignal<[]>('delete');
/** Sent by the dead letter: the job becomes ready again with one try and a new ttl. */
export const respawnSignal = defineSignal<[RespawnRequest]>('respawn');
/** Sent when the queue is destroyed while the job is ready. */
export const destroySignal = defineSignal<[]>('destroy');
export const jobViewQuery = defineQuery<JobView>('job');
