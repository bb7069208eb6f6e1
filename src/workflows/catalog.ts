import { ApplicationFailure, condition, continueAsNew, getExternalWorkflowHandle, setHandler } from '@temporalio/workflow';
import type { RegistryCatalog } from './catalog.messages';
import { catalogQuery, namespaceChangedSignal, QUOTA_EXCEEDED } from './catalog.messages';
import { RunBudget } from './run-budget';

/**
 * Which namespaces have a registry of one kind and the version of each: processes poll this one
 * small table and re-read only the namespaces whose version moved.
 */
export async function RegistryCatalogWorkflow(catalog: RegistryCatalog): Promise<void> {
  const namespaces = { ...catalog.namespaces };
  let version = catalog.version;
  let signals = 0;
  const budget = new RunBudget();
  setHandler(namespaceChangedSignal, ({ namespace, version: moved }) => {
    signals++;
    if ((namespaces[namespace] ?? -1) >= moved) return;
    namespaces[namespace] = moved;
    version++;
  });
  setHandler(catalogQuery, ({ knownVersion }) => (knownVersion === version ? null : { version, namespaces }));
  await condition(() => signals >= RunBudget.MAX_UPDATES_PER_RUN || budget.exhausted);
  await continueAsNew<typeof RegistryCatalogWorkflow>({ version, namespaces });
}

/**
 * Tells a namespace registry's catalog its new version; `undefined` for a registry of every
 * namespace (from before partitioning), which has no catalog.
 */
export function catalogNotifier(catalogId: string, namespace: string | undefined): ((version: number) => void) | undefined {
  if (namespace === undefined) return undefined;
  const catalog = getExternalWorkflowHandle(catalogId);
  // The catalog may be continuing as new: the signal then fails and the next change tells it.
  return (version) => void catalog.signal(namespaceChangedSignal, { namespace, version }).catch(() => undefined);
}

/** Rejects a registry write (from an update validator) that would take a namespace past a quota. */
export function refuseOverQuota(message: string): never {
  throw ApplicationFailure.create({ type: QUOTA_EXCEEDED, message, nonRetryable: true });
}
