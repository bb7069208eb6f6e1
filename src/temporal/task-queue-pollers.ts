import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { indexTaskQueue } from '../workflows/ids';

const { TaskQueueType } = temporal.api.enums.v1;
const READ_DEADLINE_MS = 3000;

/** The workers polling one of Ferry's task queues, as Temporal saw them lately. */
export interface TaskQueuePollers {
  taskQueue: string;
  kind: 'workflow' | 'activity';
  pollers: { identity: string; lastAccessTime: string | null }[];
}

/**
 * Who polls Ferry's task queues: the main one for workflows and activities, the index one for
 * workflows. Temporal keeps a poller listed for a few minutes after its last poll, so a worker that
 * just stopped still shows, with its last access time.
 */
export async function taskQueuePollers(client: Client, taskQueue: string): Promise<TaskQueuePollers[]> {
  const describe = async (name: string, kind: TaskQueuePollers['kind']): Promise<TaskQueuePollers> => {
    const { pollers } = await client.withDeadline(Date.now() + READ_DEADLINE_MS, () =>
      client.workflowService.describeTaskQueue({
        namespace: client.options.namespace,
        taskQueue: { name },
        taskQueueType: kind === 'workflow' ? TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW : TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
      }),
    );
    return {
      taskQueue: name,
      kind,
      pollers: (pollers ?? []).map((p) => ({
        identity: p.identity ?? '',
        lastAccessTime: p.lastAccessTime?.seconds ? new Date(Number(p.lastAccessTime.seconds) * 1000).toISOString() : null,
      })),
    };
  };
  return Promise.all([describe(taskQueue, 'workflow'), describe(taskQueue, 'activity'), describe(indexTaskQueue(taskQueue), 'workflow')]);
}
