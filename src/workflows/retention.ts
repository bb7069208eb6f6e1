import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { createActivities } from '../activities';

const { deleteExpiredPushes } = proxyActivities<ReturnType<typeof createActivities>>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '5s', maximumAttempts: 3 },
});

/**
 * One run of the retention schedule: has Temporal delete the finished pushes of namespaces whose
 * retention is shorter than the Temporal namespace's, by a batch job named after this run. Answers
 * the batch job's id, or null when nothing was due.
 */
export async function RetentionWorkflow(): Promise<string | null> {
  // Temporal runs a batch job as a workflow whose id is the job's: it cannot be this run's own.
  return deleteExpiredPushes(`${workflowInfo().workflowId}/delete`);
}
