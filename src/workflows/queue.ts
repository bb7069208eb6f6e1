import { ApplicationFailure, condition, continueAsNew, setHandler } from '@temporalio/workflow';
import { OrderedIndex } from './ordered-index';
import type { LeaseRequest, QueueInput, QueueStats } from './queue.messages';
import {
  awaitReadyUpdate,
  destroyUpdate,
  forgetSignal,
  leaseUpdate,
  leftSignal,
  readySignal,
  statsQuery,
} from './queue.messages';
import { RunBudget } from './run-budget';

/** Type of the failure a lease is rejected with when nothing is ready; the API maps it to 404. */
export const QUEUE_EMPTY = 'QueueEmpty';

/**
 * The ready list of one queue, in the order jobs became ready. Job workflows tell it when they
 * enter and leave ready; consumers lease from its head. It runs forever, continuing as new.
 */
export async function QueueWorkflow(input: QueueInput): Promise<void> {
  const index = new OrderedIndex(input.snapshot);
  const budget = new RunBudget();
  let leaseVersion = 0;

  setHandler(readySignal, (entries) => entries.forEach((entry) => index.add(entry)));
  setHandler(leftSignal, ({ jobId, epoch }) => void index.remove(jobId, epoch));
  setHandler(forgetSignal, ({ jobIds }) => index.forget(jobIds));
  setHandler(statsQuery, ({ head }): QueueStats => ({
    size: index.size,
    leased: index.leasedCount,
    head: index.peek(head).map((e) => e.jobId),
  }));

  setHandler(
    leaseUpdate,
    ({ count, leaseMs }) => {
      budget.countUpdate();
      leaseVersion++;
      return index.lease(count, Date.now() + leaseMs);
    },
    {
      // A rejected update is not written to history, so polling an empty queue costs no history.
      validator: (_request: LeaseRequest) => {
        if (index.size === 0) throw ApplicationFailure.create({ type: QUEUE_EMPTY, message: 'no job available' });
      },
    },
  );

  setHandler(awaitReadyUpdate, async ({ timeoutMs }) => {
    budget.countUpdate();
    await condition(() => index.size > 0 || budget.wrappingUp, timeoutMs);
    return index.size > 0;
  });

  setHandler(destroyUpdate, () => {
    budget.countUpdate();
    return index.clear();
  });

  while (!budget.exhausted) {
    index.expireLeases(Date.now());
    const next = index.nextLeaseDeadline();
    if (next === undefined) {
      const seen = leaseVersion;
      await condition(() => budget.exhausted || leaseVersion !== seen);
    } else {
      // Leases all last equally long, so a new lease never ends before the one awaited here.
      await condition(() => budget.exhausted, Math.max(1, next - Date.now()));
    }
  }
  await budget.wrapUp();
  await continueAsNew<typeof QueueWorkflow>({ ...input, snapshot: index.snapshot() });
}
