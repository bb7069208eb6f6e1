import type { Client, WorkflowHandle } from '@temporalio/client';
import { WithStartWorkflowOperation } from '@temporalio/client';
import { WorkflowIdConflictPolicy } from '@temporalio/common';
import type { UpdateDefinition, Workflow } from '@temporalio/common';
import type { RegistryCatalogWorkflow } from '../workflows/catalog';
import { catalogQuery, QUOTA_EXCEEDED } from '../workflows/catalog.messages';
import { indexTaskQueue } from '../workflows/ids';
import { ErrorCode, FerryError } from '../errors';
import { Refresher } from './refresher';
import { ignoreNotFound, isFailureOfType, isNotFound } from './temporal-errors';

/** A write refused because the namespace is at a quota. */
export class QuotaExceededError extends FerryError {
  override readonly name = 'QuotaExceededError';
  constructor(message: string) {
    super(ErrorCode.QuotaExceeded, message);
  }
}

/** Turns a registry's quota rejection into a QuotaExceededError; other errors pass. */
function quotaError(err: unknown): unknown {
  if (isFailureOfType(err, QUOTA_EXCEEDED)) {
    return new QuotaExceededError(err.cause.message);
  }
  return err;
}

export interface NamespacedRegistriesOptions<T extends { version: number }, W extends Workflow> {
  catalogId: string;
  taskQueue: string;
  /** The registry workflow of a namespace: its type, its id, and its input when a write starts it. */
  workflowType: string;
  workflowId: (namespace: string) => string;
  startArgs: (namespace: string) => Parameters<W>;
  /** Queries a namespace's registry: null when `knownVersion` is current; WorkflowNotFoundError when it has none. */
  read: (namespace: string, knownVersion: number | undefined) => Promise<T | null>;
  /** Takes a namespace's table as the copy's current one (from a read, or a write of this process). */
  load: (namespace: string, table: T) => void;
  refreshMs: number;
  onRefreshError: (err: unknown) => void;
}

/** Namespace registries read at once when the catalog says several moved. */
const READ_CONCURRENCY = 8;

/**
 * A process's copy of a registry kept per namespace (endpoints, tokens). Every `refreshMs` it asks
 * the registry's catalog (a query that answers null when nothing changed) and re-reads only the
 * namespaces whose version moved. It tracks which version of each namespace is loaded and which
 * this process wrote, so that a read begun before a write of this process cannot undo it.
 */
export class NamespacedRegistries<T extends { version: number }, W extends Workflow> {
  private readonly loadedVersions = new Map<string, number>();
  private readonly written = new Map<string, number>();
  private catalogVersion: number | undefined;
  private readonly refresher: Refresher;

  constructor(
    private readonly client: Client,
    private readonly options: NamespacedRegistriesOptions<T, W>,
  ) {
    this.refresher = new Refresher(client, () => this.read(), options.refreshMs, options.onRefreshError);
  }

  /** Whether the catalog was read at least once. */
  get loaded(): boolean {
    return this.catalogVersion !== undefined;
  }

  /** Makes sure the catalog runs and starts refreshing; `refresh` reads now. */
  async start(): Promise<void> {
    await this.client.workflow.start<typeof RegistryCatalogWorkflow>('RegistryCatalogWorkflow', {
      workflowId: this.options.catalogId,
      taskQueue: indexTaskQueue(this.options.taskQueue),
      args: [{ version: 0, namespaces: {} }],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    });
    this.refresher.start();
  }

  stop(): Promise<void> {
    return this.refresher.stop();
  }

  refresh(): Promise<void> {
    return this.refresher.now();
  }

  private async read(): Promise<void> {
    const catalog = await this.client.workflow
      .getHandle<typeof RegistryCatalogWorkflow>(this.options.catalogId)
      .query(catalogQuery, { knownVersion: this.catalogVersion });
    if (!catalog) return;
    const moved = Object.entries(catalog.namespaces).filter(([namespace, version]) => version > this.versionLoaded(namespace));
    for (let i = 0; i < moved.length; i += READ_CONCURRENCY) {
      await Promise.all(moved.slice(i, i + READ_CONCURRENCY).map(([namespace]) => this.readNamespace(namespace)));
    }
    this.catalogVersion = catalog.version;
  }

  /**
   * Sends a write to the namespace's registry, starting the registry if this is the namespace's
   * first; a write past a quota throws QuotaExceededError.
   */
  async write<Ret, Args extends unknown[]>(namespace: string, update: UpdateDefinition<Ret, Args>, ...args: Args): Promise<Ret> {
    const startWorkflowOperation = new WithStartWorkflowOperation<Workflow>(this.options.workflowType, {
      workflowId: this.options.workflowId(namespace),
      taskQueue: indexTaskQueue(this.options.taskQueue),
      // Checked against W where the options are made.
      args: this.options.startArgs(namespace) as unknown[],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    });
    try {
      return await this.client.workflow.executeUpdateWithStart(update, { args, startWorkflowOperation });
    } catch (err) {
      throw quotaError(err);
    }
  }

  /** Re-reads one namespace now (a worker that needs a newer version than its copy has). */
  async readNamespace(namespace: string): Promise<void> {
    let table: T | null;
    try {
      table = await this.options.read(namespace, this.loadedVersions.get(namespace));
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    if (table && table.version >= (this.written.get(namespace) ?? -1)) this.take(namespace, table);
  }

  private take(namespace: string, table: T): void {
    // Reads may answer out of order: never step back to an older table.
    if (table.version < this.versionLoaded(namespace)) return;
    this.loadedVersions.set(namespace, table.version);
    this.options.load(namespace, table);
  }

  /** The version of the namespace's table this copy holds (0 for none). */
  versionLoaded(namespace: string): number {
    return this.loadedVersions.get(namespace) ?? 0;
  }

  /** The version a reader must have to see every write this process made to the namespace. */
  versionOf(namespace: string): number {
    return Math.max(this.versionLoaded(namespace), this.written.get(namespace) ?? -1, 0);
  }

  /**
   * Applies this process's own write, which the registry answered with `version`; `table` is the
   * copy's table with the write in it. The copy counts as current only if no other write came between.
   */
  wrote(namespace: string, version: number, table: Omit<T, 'version'>): void {
    this.written.set(namespace, Math.max(this.written.get(namespace) ?? -1, version));
    const current = this.versionLoaded(namespace);
    this.take(namespace, { ...table, version: version === current + 1 ? version : current } as T);
  }
}

/** Ends a registry of every namespace, from a data folder written before partitioning, once `move` has copied it. */
export async function migrateLegacyRegistry<W extends Workflow>(
  client: Client,
  workflowId: string,
  move: (legacy: WorkflowHandle<W>) => Promise<void>,
): Promise<void> {
  const legacy = client.workflow.getHandle<W>(workflowId);
  try {
    if ((await legacy.describe()).status.name !== 'RUNNING') return;
  } catch (err) {
    if (isNotFound(err)) return;
    throw err;
  }
  await move(legacy);
  await legacy.terminate('moved to per-namespace registries').catch((err: unknown) => {
    ignoreNotFound(err);
  });
}
