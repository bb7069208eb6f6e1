import { proxyActivities } from '@temporalio/workflow';
import type { CeilingActivities } from './activities';

const { touch } = proxyActivities<CeilingActivities>({ startToCloseTimeout: '30s' });

/** Temporal's ceiling for a job: one workflow started, one activity run, the workflow completed. */
export async function CeilingWorkflow(): Promise<void> {
  await touch();
}
