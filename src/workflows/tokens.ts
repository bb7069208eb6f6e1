import { condition, continueAsNew, setHandler } from '@temporalio/workflow';
import { RunBudget } from './run-budget';
import type { TokenRecord, TokenTable } from './tokens.messages';
import { addTokenUpdate, removeTokenUpdate, setLimitUpdate, tokenTableQuery } from './tokens.messages';

/**
 * Every namespace's tokens (as hashes) and rate limits, in one long-running workflow so that all
 * API processes share them without a second database. API processes re-read it every few seconds.
 */
export async function TokenRegistryWorkflow(table: TokenTable = { version: 0, tokens: [] }): Promise<void> {
  const tokens = new Map(table.tokens.map((t) => [`${t.namespace}/${t.hash}`, t]));
  let version = table.version;
  const budget = new RunBudget();
  const changed = () => {
    budget.countUpdate();
    version++;
  };

  setHandler(tokenTableQuery, (): TokenTable => ({ version, tokens: [...tokens.values()] }));
  setHandler(addTokenUpdate, (record: TokenRecord) => {
    tokens.set(`${record.namespace}/${record.hash}`, record);
    changed();
  });
  setHandler(removeTokenUpdate, ({ namespace, hash }) => {
    const existed = tokens.delete(`${namespace}/${hash}`);
    changed();
    return existed;
  });
  setHandler(setLimitUpdate, ({ namespace, hash, limit }) => {
    const record = tokens.get(`${namespace}/${hash}`);
    if (!record) return false;
    if (limit) record.limit = limit;
    else delete record.limit;
    changed();
    return true;
  });

  await condition(() => budget.exhausted);
  await budget.wrapUp();
  await continueAsNew<typeof TokenRegistryWorkflow>({ version, tokens: [...tokens.values()] });
}
