import { condition, continueAsNew, log, proxyActivities, setHandler } from '@temporalio/workflow';
import type { createPushActivities } from '../activities/push';
import type { DeadLetterFilter } from './push.messages';
import { bulkDiscardSignal, bulkRepushSignal } from './push.messages';
import { RunBudget } from './run-budget';

const { applyToDeadLetters } = proxyActivities<ReturnType<typeof createPushActivities>>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 5 },
});

interface BulkRequest {
  action: 'repush' | 'discard';
  filter: DeadLetterFilter;
}

/**
 * A namespace's handle on its push dead letter for the CLI: `repush` and `discard` signals (with an
 * optional filter) apply to every matching dead-lettered delivery. The deliveries themselves stay in
 * their push workflows; this one only fans the request out, one request at a time.
 */
export async function PushDeadLetterWorkflow(input: { namespace: string; pending?: BulkRequest[] }): Promise<void> {
  const pending: BulkRequest[] = [...(input.pending ?? [])];
  const budget = new RunBudget();
  setHandler(bulkRepushSignal, (filter) => void pending.push({ action: 'repush', filter: filter ?? {} }));
  setHandler(bulkDiscardSignal, (filter) => void pending.push({ action: 'discard', filter: filter ?? {} }));
  while (!budget.exhausted) {
    await condition(() => pending.length > 0 || budget.exhausted);
    const request = pending.shift();
    if (!request) continue;
    const count = await applyToDeadLetters({ namespace: input.namespace, ...request });
    log.info('dead letter bulk request done', { ...request, count });
  }
  await continueAsNew<typeof PushDeadLetterWorkflow>({ namespace: input.namespace, pending });
}
