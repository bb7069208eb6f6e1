import type { Client } from '@temporalio/client';
import type { DeadLetterWorkflow } from '../workflows/deadletter';
import { deadLetterWorkflowId, indexTaskQueue, queueWorkflowId } from '../workflows/ids';
import type { QueueWorkflow } from '../workflows/queue';

export type IndexKind = 'queue' | 'deadletter';

/**
 * Signals a queue's ready index or dead letter, starting it first (on the index task queue of
 * Ferry's task queue `taskQueue`) if it does not run yet: queues are created on first use.
 */
export async function signalIndexWithStart(
  client: Client,
  taskQueue: string,
  target: { index: IndexKind; namespace: string; queue: string },
  signal: string,
  payload: unknown,
): Promise<void> {
  const { index, namespace, queue } = target;
  const options = { taskQueue: indexTaskQueue(taskQueue), args: [{ namespace, queue }] as [{ namespace: string; queue: string }], signal, signalArgs: [payload] as [unknown] };
  if (index === 'queue') {
    await client.workflow.signalWithStart<typeof QueueWorkflow, [unknown]>('QueueWorkflow', {
      ...options,
      workflowId: queueWorkflowId(namespace, queue),
    });
  } else {
    await client.workflow.signalWithStart<typeof DeadLetterWorkflow, [unknown]>('DeadLetterWorkflow', {
      ...options,
      workflowId: deadLetterWorkflowId(namespace, queue),
    });
  }
}
