import { condition, continueAsNew, setHandler } from '@temporalio/workflow';
import { catalogNotifier, refuseOverQuota } from './catalog';
import { TOKEN_CATALOG_WORKFLOW_ID } from './ids';
import { RunBudget } from './run-budget';
import type { TokenRecord, TokenRegistryInput, TokenTable } from './tokens.messages';
import { addTokenUpdate, importTokensUpdate, removeTokenUpdate, setLimitUpdate, tokenTableQuery } from './tokens.messages';

/**
 * One namespace's tokens (as hashes) and rate limits, in one long-running workflow so that all API
 * processes share them without a second database (the unpartitioned registry of every namespace,
 * from before, runs the same code without `namespace` until it is migrated). API processes keep
 * copies and re-read it when its version moves, which the catalog tells them.
 */
export async function TokenRegistryWorkflow(input: TokenRegistryInput = { version: 0, tokens: [] }): Promise<void> {
  const { namespace, maxTokens } = input;
  const tokens = new Map(input.tokens.map((t) => [`${t.namespace}/${t.hash}`, t]));
  let version = input.version;
  const budget = new RunBudget();
  const notifyCatalog = catalogNotifier(TOKEN_CATALOG_WORKFLOW_ID, namespace);
  const changed = () => {
    budget.countUpdate();
    version++;
    notifyCatalog?.(version);
  };

  setHandler(tokenTableQuery, (known): TokenTable | null =>
    namespace !== undefined && known?.knownVersion === version ? null : { version, tokens: [...tokens.values()] },
  );
  setHandler(
    addTokenUpdate,
    (record: TokenRecord) => {
      tokens.set(`${record.namespace}/${record.hash}`, record);
      changed();
    },
    {
      validator: (record: TokenRecord) => {
        if (maxTokens !== undefined && !tokens.has(`${record.namespace}/${record.hash}`) && tokens.size >= maxTokens) {
          refuseOverQuota(`a namespace has at most ${maxTokens} tokens`);
        }
      },
    },
  );
  setHandler(importTokensUpdate, (records) => {
    for (const record of records) if (!tokens.has(`${record.namespace}/${record.hash}`)) tokens.set(`${record.namespace}/${record.hash}`, record);
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
  await continueAsNew<typeof TokenRegistryWorkflow>({ version, tokens: [...tokens.values()], namespace, maxTokens });
}
