import { ApplicationFailure, condition, continueAsNew, patched, setHandler } from '@temporalio/workflow';
import { OrderedIndex } from './ordered-index';
import type { LeaseRequest, QueueInput, QueueStats } from './queue.messages';
import {
  awaitReadyUpdate,
  destroyUpdate,
  forgetSignal,
  leaseUpdate,
  leftSignal,
  QUEUE_EMPTY,
  readySignal,
  setPausedUpdate,
  statsQuery,
} from './queue.messages';
import { Refiller } from './refill';
import { RunBudget } from './run-budget';

/**
 * The ready list of one queue, in the order jobs became ready. Job workflows tell it when they
 * enter and leave ready; consumers lease from its head. It runs forever, continuing as new.
 */
export async function QueueWorkflow(input: QueueInput): Promise<void> {
  const { namespace, queue } = input;
  const index = new OrderedIndex(input.snapshot, input.limits);
  const refiller = new Refiller(index, { namespace, queue, state: 'ready' });
  const budget = new RunBudget();
  let leaseVersion = 0;
  let paused = input.paused ?? false;
  /** Whether a consume may take a job now. */
  const available = () => !paused && index.size > 0;

  setHandler(readySignal, (entries) => entries.forEach((entry) => index.add(entry, Date.now())));
  setHandler(leftSignal, ({ jobId, epoch, since }) => {
    index.remove(jobId, epoch, since);
    refiller.poke();
  });
  setHandler(forgetSignal, ({ jobIds }) => index.forget(jobIds));
  setHandler(statsQuery, ({ head }): QueueStats => ({
    size: index.size,
    leased: index.leasedCount,
    spilled: index.spilledCount,
    head: index.peek(head).map((e) => e.jobId),
    firstSpilled: index.firstSpilled,
    oldestReadySince: index.peek(1)[0]?.since ?? index.firstSpilled?.from,
    ...(paused ? { paused } : {}),
  }));

  setHandler(setPausedUpdate, ({ paused: value }) => {
    budget.countUpdate();
    paused = value;
    return { paused };
  });

  setHandler(
    leaseUpdate,
    async ({ count, leaseMs, settle }) => {
      budget.countUpdate();
      if (settle) index.forget(settle);
      // Woken before the lease was taken, the main loop raced this handler for the next command:
      // its new lease timer came before or after the answer depending on the promise hops each took,
      // which differ between a cached run and a replay (a history written one way failed the
      // other's replay). Woken after the lease, it runs once the answer is out: answer, then timer.
      // It also no longer misses a lease that waited for a refill.
      const wakeAfterLease = patched('lease-wakes-loop-after-lease');
      if (!wakeAfterLease) leaseVersion++;
      await refiller.untilAvailable();
      const leases = index.lease(count, Date.now() + leaseMs);
      if (wakeAfterLease) leaseVersion++;
      refiller.poke();
      return leases;
    },
    {
      // A rejected update is not written to history, so polling an empty queue costs no history.
      validator: (_request: LeaseRequest) => {
        if (!available()) throw ApplicationFailure.create({ type: QUEUE_EMPTY, message: 'no job available' });
      },
    },
  );

  setHandler(awaitReadyUpdate, async ({ timeoutMs }) => {
    budget.countUpdate();
    // A paused queue keeps its long polls waiting; resuming wakes them.
    await condition(() => available() || budget.wrappingUp, timeoutMs);
    return available();
  });

  setHandler(destroyUpdate, () => {
    budget.countUpdate();
    return index.clear();
  });

  while (!budget.exhausted) {
    const now = Date.now();
    index.expireLeases(now);
    refiller.poke();
    const deadlines = [index.nextLeaseDeadline(), index.refillRetryAt].filter((d): d is number => d !== undefined);
    if (deadlines.length === 0) {
      const seen = leaseVersion;
      await condition(() => budget.exhausted || leaseVersion !== seen);
    } else {
      // Leases all last equally long, so a new lease never ends before the deadline awaited here.
      await condition(() => budget.exhausted, Math.max(1, Math.min(...deadlines) - now));
    }
  }
  await budget.wrapUp();
  await refiller.idle();
  await continueAsNew<typeof QueueWorkflow>({ ...input, snapshot: index.snapshot(), ...(paused ? { paused } : { paused: undefined }) });
}
