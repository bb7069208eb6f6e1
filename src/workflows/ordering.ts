import { condition, continueAsNew, getExternalWorkflowHandle, setHandler } from '@temporalio/workflow';
import { doneSignal, enqueueSignal, turnSignal } from './push.messages';
import { RunBudget } from './run-budget';

export interface OrderingInput {
  namespace: string;
  endpointId: string;
  key: string;
  /** Push workflow ids waiting, in publish order; the first one may already hold the turn. */
  waiting: string[];
  /** Recently finished ones: a late duplicate enqueue of those is ignored. */
  finished: string[];
}

const REMEMBER_FINISHED = 1000;

/**
 * Serialises the deliveries of one ordering key to one endpoint: each push gets its turn in the
 * order it was enqueued (the publish order) and gives it back when its delivery succeeded or was
 * dead-lettered. Ends after ten idle minutes; the next publish starts it again.
 */
export async function OrderingWorkflow(input: OrderingInput): Promise<void> {
  const waiting = [...input.waiting];
  const finished = new Set(input.finished);
  let current: string | undefined;
  const budget = new RunBudget();

  const finish = (workflowId: string) => {
    finished.add(workflowId);
    if (finished.size > REMEMBER_FINISHED) finished.delete(finished.values().next().value!);
  };
  setHandler(enqueueSignal, ({ workflowId }) => {
    budget.countUpdate();
    if (workflowId !== current && !finished.has(workflowId) && !waiting.includes(workflowId)) waiting.push(workflowId);
  });
  setHandler(doneSignal, ({ workflowId }) => {
    budget.countUpdate();
    finish(workflowId);
    if (workflowId === current) current = undefined;
    const at = waiting.indexOf(workflowId);
    if (at >= 0) waiting.splice(at, 1);
  });

  for (;;) {
    if (budget.exhausted) {
      await budget.wrapUp();
      await continueAsNew<typeof OrderingWorkflow>({
        ...input,
        waiting: current ? [current, ...waiting] : waiting,
        finished: [...finished],
      });
    }
    if (!(await condition(() => waiting.length > 0 || budget.exhausted, '10 minutes'))) return;
    if (waiting.length === 0) continue;
    current = waiting.shift()!;
    try {
      await getExternalWorkflowHandle(current).signal(turnSignal, { endpointId: input.endpointId });
    } catch {
      // That push no longer runs (finished or terminated): nothing to wait for.
      current = undefined;
      continue;
    }
    await condition(() => current === undefined || budget.exhausted);
  }
}
