import { status } from '@grpc/grpc-js';
import type { Client, ScheduleDescription, ScheduleHandle } from '@temporalio/client';
import { ScheduleAlreadyRunning, ScheduleNotFoundError } from '@temporalio/client';
import type { ScheduleOverlapPolicy } from '@temporalio/client';
import { ErrorCode, FerryError } from '../errors';
import { FerryNamespace, FerryQueue, jobScheduleId, scheduledRunWorkflowId } from '../workflows/ids';
import type { ScheduledJob } from '../workflows/schedule.messages';
import { SCHEDULED_JOB_WORKFLOW } from '../workflows/schedule.messages';
import { idempotentJobId } from './job-publisher';
import { grpcCodeOf } from './temporal-errors';

/** What a schedule does when a run is due while the one before it still runs (Temporal's policies). */
export const OVERLAP_POLICIES = ['skip', 'bufferOne', 'bufferAll', 'cancelOther', 'terminateOther', 'allowAll'] as const;
export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];
const TEMPORAL_OVERLAP: Record<OverlapPolicy, ScheduleOverlapPolicy> = {
  skip: 'SKIP',
  bufferOne: 'BUFFER_ONE',
  bufferAll: 'BUFFER_ALL',
  cancelOther: 'CANCEL_OTHER',
  terminateOther: 'TERMINATE_OTHER',
  allowAll: 'ALLOW_ALL',
};

/** A recurring job as it was asked for: kept in the schedule's memo and answered as it was given. */
export interface JobScheduleDefinition {
  name: string;
  queue: string;
  /** Exactly one of `cron` and `everySeconds`. */
  cron?: string;
  everySeconds?: number;
  timezone: string;
  overlap: OverlapPolicy;
  catchupWindowSeconds: number;
  job: Omit<ScheduledJob, 'namespace' | 'queue'>;
}

export interface JobScheduleView extends JobScheduleDefinition {
  paused: boolean;
  note: string;
  createdAt: number;
  /** Runs taken so far. */
  runs: number;
  /** The next run times (ms since the epoch), soonest first. */
  nextRuns: number[];
  /** The latest runs, each with the job it published (the job id follows from the run). */
  recentRuns: { scheduledAt: number; startedAt: number; jobId: string }[];
}

const MEMO_KEY = 'ferrySchedule';

/**
 * Recurring jobs on Temporal Schedules (`schedule/<namespace>/<name>`): each run starts a
 * ScheduledJobWorkflow, which publishes the schedule's job as an ordinary job of its queue. Pause,
 * unpause, trigger and delete are the schedule's own, so the Web UI and `temporal schedule` work
 * on them too.
 */
export class JobSchedules {
  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
  ) {}

  async create(namespace: string, definition: JobScheduleDefinition, state: { paused: boolean; note: string }): Promise<JobScheduleView> {
    const { name, queue, cron, everySeconds, timezone, overlap, catchupWindowSeconds, job } = definition;
    const attributes = [
      { key: FerryNamespace, value: namespace },
      { key: FerryQueue, value: queue },
    ];
    try {
      await this.client.schedule.create({
        scheduleId: jobScheduleId(namespace, name),
        spec: { ...(cron !== undefined ? { cronExpressions: [cron] } : { intervals: [{ every: (everySeconds ?? 0) * 1000 }] }), timezone },
        action: {
          type: 'startWorkflow',
          workflowType: SCHEDULED_JOB_WORKFLOW,
          workflowId: scheduledRunWorkflowId(namespace, name),
          taskQueue: this.taskQueue,
          args: [{ namespace, queue, ...job } satisfies ScheduledJob],
          typedSearchAttributes: attributes,
        },
        policies: { overlap: TEMPORAL_OVERLAP[overlap], catchupWindow: catchupWindowSeconds * 1000 },
        state,
        memo: { [MEMO_KEY]: definition },
        typedSearchAttributes: attributes,
      });
    } catch (err) {
      if (err instanceof ScheduleAlreadyRunning) throw new FerryError(ErrorCode.Conflict, 'schedule exists');
      // The SDK checks the cron expression and the time zone (a TypeError), the server the rest.
      if (err instanceof TypeError || grpcCodeOf(err) === status.INVALID_ARGUMENT) {
        throw new FerryError(ErrorCode.BadRequest, `invalid schedule: ${(err as Error).message}`);
      }
      throw err;
    }
    return this.get(namespace, name);
  }

  async get(namespace: string, name: string): Promise<JobScheduleView> {
    return this.viewOf(namespace, await this.onSchedule(namespace, name, (handle) => handle.describe()));
  }

  /** Every schedule of the namespace, by name. */
  async list(namespace: string): Promise<JobScheduleView[]> {
    const prefix = jobScheduleId(namespace, '');
    const names: string[] = [];
    for await (const summary of this.client.schedule.list()) {
      if (summary.scheduleId.startsWith(prefix)) names.push(summary.scheduleId.slice(prefix.length));
    }
    // A summary lacks the creation time and the run count: each is described.
    const views = await Promise.all(names.map((name) => this.get(namespace, name).catch(() => undefined)));
    return views.filter((v) => v !== undefined).sort((a, b) => a.name.localeCompare(b.name));
  }

  // The server reads an empty note as no pause (or unpause) at all: there is always one.
  async pause(namespace: string, name: string, note: string): Promise<JobScheduleView> {
    note ||= 'paused through the API';
    await this.onSchedule(namespace, name, (handle) => handle.pause(note));
    // The schedule applies the change a moment later: a describe right away may not show it yet.
    return { ...(await this.get(namespace, name)), paused: true, note };
  }

  async unpause(namespace: string, name: string, note: string): Promise<JobScheduleView> {
    note ||= 'unpaused through the API';
    await this.onSchedule(namespace, name, (handle) => handle.unpause(note));
    return { ...(await this.get(namespace, name)), paused: false, note };
  }

  /** Runs the schedule once now, besides its times. */
  async trigger(namespace: string, name: string): Promise<void> {
    await this.onSchedule(namespace, name, (handle) => handle.trigger());
  }

  async delete(namespace: string, name: string): Promise<void> {
    await this.onSchedule(namespace, name, (handle) => handle.delete());
  }

  private async onSchedule<T>(namespace: string, name: string, call: (handle: ScheduleHandle) => Promise<T>): Promise<T> {
    try {
      return await call(this.client.schedule.getHandle(jobScheduleId(namespace, name)));
    } catch (err) {
      if (err instanceof ScheduleNotFoundError) throw new FerryError(ErrorCode.NotFound, 'schedule not found');
      throw err;
    }
  }

  private viewOf(namespace: string, schedule: ScheduleDescription): JobScheduleView {
    const definition = schedule.memo?.[MEMO_KEY] as JobScheduleDefinition;
    const recentRuns = schedule.info.recentActions.map((run) => ({
      scheduledAt: run.scheduledAt.getTime(),
      startedAt: run.takenAt.getTime(),
      jobId: idempotentJobId(namespace, definition.queue, run.action.workflow.workflowId, 0),
    }));
    return {
      ...definition,
      paused: schedule.state.paused,
      note: schedule.state.note ?? '',
      createdAt: schedule.info.createdAt.getTime(),
      runs: schedule.info.numActionsTaken,
      nextRuns: schedule.info.nextActionTimes.map((t) => t.getTime()),
      recentRuns,
    };
  }
}
