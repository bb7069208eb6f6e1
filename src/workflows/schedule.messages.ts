/** The job a schedule publishes at each of its runs. */
export interface ScheduledJob {
  namespace: string;
  queue: string;
  /** The body, base64, as a job spec carries it. */
  data: string;
  ttl: number;
  tries: number;
  delay: number;
}

/** The workflow each run of a schedule starts: it publishes the schedule's job. */
export const SCHEDULED_JOB_WORKFLOW = 'ScheduledJobWorkflow';
