import type { Client } from '@temporalio/client';
import { indexTaskQueue, orderingWorkflowId } from '../workflows/ids';
import type { OrderingWorkflow } from '../workflows/ordering';
import { enqueueSignal } from '../workflows/push.messages';

export interface OrderedPush {
  namespace: string;
  endpointId: string;
  key: string;
  /** The push workflow waiting for its turn. */
  workflowId: string;
}

/** Puts a push in line for its ordering key at an endpoint, starting the line if there is none (again: duplicates are ignored). */
export async function enqueueOrdered(client: Client, taskQueue: string, push: OrderedPush): Promise<void> {
  await client.workflow.signalWithStart<typeof OrderingWorkflow, [{ workflowId: string }]>('OrderingWorkflow', {
    workflowId: orderingWorkflowId(push.namespace, push.endpointId, push.key),
    taskQueue: indexTaskQueue(taskQueue),
    args: [{ namespace: push.namespace, endpointId: push.endpointId, key: push.key, waiting: [], finished: [] }],
    signal: enqueueSignal,
    signalArgs: [{ workflowId: push.workflowId }],
  });
}
