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
/** Every namespace's tokens in one registry, as Ferry kept them before partitioning; migrated at start. */
export const LEGACY_TOKEN_REGISTRY_WORKFLOW_ID = 'ferry/tokens';
/** One namespace's tokens (hashes) and rate limits. */
export const tokenRegistryWorkflowId = (namespace: string): string => `ferry/tokens/${namespace}`;
/** Which namespaces have token registries, with the version of each. */
export const TOKEN_CATALOG_WORKFLOW_ID = 'ferry/token-catalog';
/** Every namespace's webhook endpoints in one registry, as Ferry kept them before partitioning; migrated at start. */
export const LEGACY_ENDPOINT_REGISTRY_WORKFLOW_ID = 'ferry/endpoints';
/** One namespace's webhook endpoints, event types, secrets and health. */
export const endpointRegistryWorkflowId = (namespace: string): string => `ferry/endpoints/${namespace}`;
/** Which namespaces have endpoint registries, with the version of each. */
export const ENDPOINT_CATALOG_WORKFLOW_ID = 'ferry/endpoint-catalog';
/** One event and its deliveries. Event ids match ^[-_.:A-Za-z0-9]+$. */
export const pushWorkflowId = (namespace: string, eventId: string): string => `push/${namespace}/${eventId}`;
/** Takes bulk re-push and delete signals for a namespace's dead-lettered deliveries (from the CLI). */
export const pushDeadLetterWorkflowId = (namespace: string): string => `push-deadletter/${namespace}`;
/** Hands out turns to the deliveries of one ordering key to one endpoint, in publish order. */
export const orderingWorkflowId = (namespace: string, endpointId: string, key: string): string =>
  `push-order/${namespace}/${endpointId}/${encodeURIComponent(key)}`;
/** A recurring job's Temporal schedule. Schedule names match ^[-_.A-Za-z0-9]+$. */
export const jobScheduleId = (namespace: string, name: string): string => `schedule/${namespace}/${name}`;
/** The prefix of the workflow ids of a schedule's runs; Temporal appends each run's time. */
export const scheduledRunWorkflowId = (namespace: string, name: string): string => `schedule-run/${namespace}/${name}`;
/** The hourly schedule that has Temporal delete finished pushes past their namespace's retention, one per deployment. */
export const retentionScheduleId = (taskQueue: string): string => `ferry/retention/${taskQueue}`;
/** Deliveries to a rate-limited endpoint wait on their own task queue, whose dispatch rate Temporal caps. */
export const rateLimitedTaskQueue = (taskQueue: string, namespace: string, endpointId: string): string =>
  `${taskQueue}-push/${namespace}/${endpointId}`;

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

/** A push's event type. */
export const FerryEventType = defineSearchAttributeKey('FerryEventType', SearchAttributeType.KEYWORD);
/** Every endpoint a push delivers to. */
export const FerryEndpoints = defineSearchAttributeKey('FerryEndpoints', SearchAttributeType.KEYWORD_LIST);
/** Endpoints whose delivery of this push sits in the dead letter (failed or held). */
export const FerryDeadEndpoints = defineSearchAttributeKey('FerryDeadEndpoints', SearchAttributeType.KEYWORD_LIST);
/** Endpoints whose delivery was held because the endpoint was disabled: replayed when it is enabled. */
export const FerryHeldEndpoints = defineSearchAttributeKey('FerryHeldEndpoints', SearchAttributeType.KEYWORD_LIST);

export const FERRY_SEARCH_ATTRIBUTES = [
  FerryNamespace,
  FerryQueue,
  FerryState,
  FerryStateSince,
  FerryEventType,
  FerryEndpoints,
  FerryDeadEndpoints,
  FerryHeldEndpoints,
] as const;
