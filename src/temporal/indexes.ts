import type { Client } from '@temporalio/client';
import type { DeadLetterWorkflow } from '../workflows/deadletter';
import { deadLetterWorkflowId, indexTaskQueue, queueWorkflowId } from '../workflows/ids';
import type { IndexLimits } from '../workflows/ordered-index.messages';
import type { QueueWorkflow } from '../workflows/queue';
import type { QueueInput } from '../workflows/queue.messages';

export type IndexKind = 'queue' | 'deadletter';

/** Where index workflows run and how much of their index they keep in memory, as a new one starts. */
export interface IndexHome {
  /** Ferry's task queue; index workflows run on its index task queue. */
  taskQueue: string;
  limits: IndexLimits;
}

/**
 * Signals a queue's ready index or dead letter, starting it first (with `home`'s task queue and
 * limits) if it does not run yet: queues are created on first use. A running index keeps the
 * limits it was started with, across continue-as-new.
 */
export async function signalIndexWithStart(
  client: Client,
  home: IndexHome,
  target: { index: IndexKind; namespace: string; queue: string },
  signal: string,
  payload: unknown,
): Promise<void> {
  const { index, namespace, queue } = target;
  const input: QueueInput = { namespace, queue, limits: home.limits };
  const options = { taskQueue: indexTaskQueue(home.taskQueue), args: [input] as [QueueInput], signal, signalArgs: [payload] as [unknown] };
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
