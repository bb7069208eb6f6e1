import { condition, continueAsNew, getExternalWorkflowHandle, setHandler } from '@temporalio/workflow';
import type { DeadLetterInput, DeadLetterStats, RespawnDeadRequest } from './deadletter.messages';
import {
  deadLetterStatsQuery,
  deadLeftSignal,
  deadSignal,
  deleteDeadUpdate,
  respawnDeadSignal,
  respawnDeadUpdate,
} from './deadletter.messages';
import { jobWorkflowId } from './ids';
import { deleteSignal, respawnSignal } from './job.messages';
import { OrderedIndex } from './ordered-index';
import { Refiller } from './refill';
import { RunBudget } from './run-budget';

/** lmstfy's respawn defaults: one job, a day to live. */
const DEFAULT_RESPAWN: RespawnDeadRequest = { limit: 1, ttl: 86400 };

/**
 * The dead letter of one queue: jobs that ran out of tries, oldest first. Respawning or deleting
 * takes the oldest and tells their job workflows. It runs forever, continuing as new.
 */
export async function DeadLetterWorkflow(input: DeadLetterInput): Promise<void> {
  const { namespace, queue } = input;
  const index = new OrderedIndex(input.snapshot, input.limits);
  const refiller = new Refiller(index, { namespace, queue, state: 'dead' });
  const budget = new RunBudget();

  /** Takes the oldest jobs, loading spilled ones as needed, and signals them in parallel. */
  const tell = async (limit: number, send: (jobId: string) => Promise<void>): Promise<number> => {
    let told = 0;
    while (told < limit) {
      await refiller.untilAvailable();
      const taken = index.take(limit - told);
      if (taken.length === 0) break;
      // A job that no longer exists has nothing to respawn or delete.
      await Promise.all(taken.map((e) => send(e.jobId).catch(() => undefined)));
      told += taken.length;
    }
    refiller.poke();
    return told;
  };
  const job = (jobId: string) => getExternalWorkflowHandle(jobWorkflowId(namespace, queue, jobId));
  const respawn = ({ limit, ttl }: RespawnDeadRequest) =>
    tell(limit, (jobId) => job(jobId).signal(respawnSignal, { ttl }));

  setHandler(deadSignal, (entry) => void index.add(entry, Date.now()));
  setHandler(deadLeftSignal, ({ jobId, epoch, since }) => {
    index.remove(jobId, epoch, since);
    refiller.poke();
  });
  setHandler(deadLetterStatsQuery, ({ head }): DeadLetterStats => ({
    size: index.size,
    head: index.peek(head).map((e) => e.jobId),
  }));
  setHandler(respawnDeadSignal, async (request) => {
    await respawn({ ...DEFAULT_RESPAWN, ...request });
  });
  setHandler(respawnDeadUpdate, async (request) => {
    budget.countUpdate();
    return respawn(request);
  });
  setHandler(deleteDeadUpdate, async ({ limit }) => {
    budget.countUpdate();
    return tell(limit, (jobId) => job(jobId).signal(deleteSignal));
  });

  await condition(() => budget.exhausted);
  await budget.wrapUp();
  await refiller.idle();
  await continueAsNew<typeof DeadLetterWorkflow>({ ...input, snapshot: index.snapshot() });
}
