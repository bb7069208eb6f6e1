import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Workflow ids are readable paths so an operator can find any job in the Web UI by typing it.
 * Namespace and queue names match ^[-_A-Za-z0-9]+$, so '/' cannot occur inside a component.
 */
export const jobWorkflowId = (namespace: string, queue: string, jobId: string): string =>
  `job/${namespace}/${queue}/${jobId}`;
export const queueWorkflowId = (namespace: string, queue: string): string => `queue/${namespace}/${queue}`;
export const deadLetterWorkflowId = (namespace: string, queue: string): string =>
  `deadletter/${namespace}/${queue}`;
export const TOKEN_REGISTRY_WORKFLOW_ID = 'ferry/tokens';

/**
 * Index workflows (queues, dead letters, tokens) run on their own task queue, so that a backlog of
 * job workflow tasks never delays a consume, a size or a long poll.
 */
export const indexTaskQueue = (taskQueue: string): string => `${taskQueue}-index`;

/** Search attributes Ferry registers; the dev server gets them with --search-attribute at start. */
export const FerryNamespace = defineSearchAttributeKey('FerryNamespace', SearchAttributeType.KEYWORD);
export const FerryQueue = defineSearchAttributeKey('FerryQueue', SearchAttributeType.KEYWORD);
export const FerryState = defineSearchAttributeKey('FerryState', SearchAttributeType.KEYWORD);
/** Milliseconds since the epoch at which the job entered its current state; orders a queue's jobs. */
export const FerryStateSince = defineSearchAttributeKey('FerryStateSince', SearchAttributeType.INT);

export const FERRY_SEARCH_ATTRIBUTES = [FerryNamespace, FerryQueue, FerryState, FerryStateSince] as const;
