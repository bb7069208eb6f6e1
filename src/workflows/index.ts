export { JobWorkflow } from './job';
export { QueueWorkflow } from './queue';
export { DeadLetterWorkflow } from './deadletter';
export { TokenRegistryWorkflow } from './tokens';
