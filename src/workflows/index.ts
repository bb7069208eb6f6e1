export { JobWorkflow } from './job';
export { QueueWorkflow } from './queue';
export { DeadLetterWorkflow } from './deadletter';
export { TokenRegistryWorkflow } from './tokens';
export { EndpointRegistryWorkflow } from './endpoints';
export { PushWorkflow } from './push';
export { PushDeadLetterWorkflow } from './push-deadletter';
export { OrderingWorkflow } from './ordering';
