import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { ScheduledJob } from './schedule.messages';

const { publishScheduledJob } = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '30s',
  // A run whose publish cannot get through (Temporal refusing publishes while behind) keeps
  // trying for a day, then fails where the schedule's recent runs show it.
  scheduleToCloseTimeout: '24h',
  retry: { initialInterval: '1s', maximumInterval: '60s' },
});

/**
 * One run of a schedule: publishes the schedule's job as an ordinary job. The run's workflow id
 * (the schedule's prefix and the scheduled time) is the publish's idempotency key, so a retried
 * activity publishes that run's job once.
 */
export async function ScheduledJobWorkflow(job: ScheduledJob): Promise<string> {
  return publishScheduledJob(job, workflowInfo().workflowId);
}
