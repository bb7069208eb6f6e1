import type { Client, WorkflowHandle } from '@temporalio/client';
import type { EndpointRegistryWorkflow } from '../workflows/endpoints';
import type { Endpoint, EndpointQuotas, EndpointRef, EndpointTable, EventTypeDefinition, HealthPolicy } from '../workflows/endpoints.messages';
import {
  admitUpdate,
  deliveryOutcomeUpdate,
  endpointTableQuery,
  importUpdate,
  putEndpointUpdate,
  putEventTypeUpdate,
  removeEndpointUpdate,
  removeEventTypeUpdate,
  setEnabledUpdate,
} from '../workflows/endpoints.messages';
import { ENDPOINT_CATALOG_WORKFLOW_ID, endpointRegistryWorkflowId, LEGACY_ENDPOINT_REGISTRY_WORKFLOW_ID } from '../workflows/ids';
import { migrateLegacyRegistry, NamespacedRegistries } from './namespaced-registry';

const key = ({ namespace, id }: EndpointRef) => `${namespace}/${id}`;

export interface EndpointDirectoryOptions {
  taskQueue: string;
  policy: HealthPolicy;
  quotas: EndpointQuotas;
  refreshMs: number;
  onRefreshError: (err: unknown) => void;
}

/** A process's copy of one namespace's registry, with its lookups. */
interface NamespaceCopy {
  table: EndpointTable;
  byId: Map<string, Endpoint>;
  eventTypes: Map<string, EventTypeDefinition>;
}

/**
 * A process's copy of every namespace's endpoint registry. Reads are from memory; the copy follows
 * the registries through their catalog (`NamespacedRegistries`), and writes made through this
 * process apply to it at once. One namespace's registry is bounded by its quotas, so no
 * namespace's size reaches another's reads.
 */
export class EndpointDirectory {
  private readonly namespaces = new Map<string, NamespaceCopy>();
  private readonly registries: NamespacedRegistries<EndpointTable, typeof EndpointRegistryWorkflow>;
  /** Every namespace's endpoints, made again on the first read after a change. */
  private everyEndpoint: Endpoint[] | undefined;
  private readonly listeners: ((endpoints: Endpoint[]) => void)[] = [];
  private notifying = false;
  /** Endpoints this process saw fail: their next success is reported even if the copy says healthy. */
  private readonly failedHere = new Set<string>();

  constructor(
    private readonly client: Client,
    private readonly options: EndpointDirectoryOptions,
  ) {
    this.registries = new NamespacedRegistries<EndpointTable, typeof EndpointRegistryWorkflow>(client, {
      workflowType: 'EndpointRegistryWorkflow',
      workflowId: endpointRegistryWorkflowId,
      startArgs: (namespace) => [{ policy: options.policy, quotas: options.quotas, namespace, table: { version: 0, endpoints: [], eventTypes: [] } }],
      catalogId: ENDPOINT_CATALOG_WORKFLOW_ID,
      taskQueue: options.taskQueue,
      read: (namespace, knownVersion) => this.registry(namespace).query(endpointTableQuery, { knownVersion }),
      load: (namespace, table) => this.load(namespace, table),
      refreshMs: options.refreshMs,
      onRefreshError: options.onRefreshError,
    });
  }

  private registry(namespace: string): WorkflowHandle<typeof EndpointRegistryWorkflow> {
    return this.client.workflow.getHandle<typeof EndpointRegistryWorkflow>(endpointRegistryWorkflowId(namespace));
  }

  /** Whether the catalog was read at least once: until then, nothing can be published. */
  get loaded(): boolean {
    return this.registries.loaded;
  }

  /**
   * Makes sure the catalog runs, moves a registry from before partitioning into per-namespace
   * ones, and keeps the copy current. A first read that fails (no worker yet) is reported and
   * retried on the next tick; `loaded` says when the copy is usable.
   */
  async start(): Promise<void> {
    await this.registries.start();
    await migrateLegacyRegistry<typeof EndpointRegistryWorkflow>(this.client, LEGACY_ENDPOINT_REGISTRY_WORKFLOW_ID, (legacy) => this.moveIn(legacy)).catch(
      this.options.onRefreshError,
    );
    await this.refresh().catch(this.options.onRefreshError);
  }

  stop(): Promise<void> {
    return this.registries.stop();
  }

  /** Re-reads what changed. */
  refresh(): Promise<void> {
    return this.registries.refresh();
  }

  /** Copies the unpartitioned registry of an older data folder into per-namespace registries. */
  private async moveIn(legacy: WorkflowHandle<typeof EndpointRegistryWorkflow>): Promise<void> {
    const table = (await legacy.query(endpointTableQuery, {}))!;
    const byNamespace = new Map<string, { endpoints: Endpoint[]; eventTypes: EventTypeDefinition[] }>();
    const of = (namespace: string) => byNamespace.get(namespace) ?? byNamespace.set(namespace, { endpoints: [], eventTypes: [] }).get(namespace)!;
    for (const e of table.endpoints) of(e.namespace).endpoints.push(e);
    for (const t of table.eventTypes ?? []) of(t.namespace).eventTypes.push(t);
    for (const [namespace, imported] of byNamespace) {
      await this.registries.write(namespace, importUpdate, imported);
      // The catalog hears of the new registry a moment later: read it now.
      await this.registries.readNamespace(namespace);
    }
  }

  private load(namespace: string, table: EndpointTable): void {
    this.namespaces.set(namespace, {
      table,
      byId: new Map(table.endpoints.map((e) => [e.id, e])),
      eventTypes: new Map((table.eventTypes ?? []).map((t) => [t.name, t])),
    });
    this.everyEndpoint = undefined;
    // Listeners see all endpoints; loads come in bursts (one per namespace that moved), so one call per burst.
    if (this.listeners.length > 0 && !this.notifying) {
      this.notifying = true;
      setImmediate(() => {
        this.notifying = false;
        for (const listener of this.listeners) listener(this.all());
      });
    }
  }

  /** Called with every endpoint whenever the copy changes (workers follow rate limits with it). */
  onChange(listener: (endpoints: Endpoint[]) => void): void {
    this.listeners.push(listener);
    listener(this.all());
  }

  get(namespace: string, id: string): Endpoint | undefined {
    return this.namespaces.get(namespace)?.byId.get(id);
  }

  all(): Endpoint[] {
    this.everyEndpoint ??= [...this.namespaces.values()].flatMap((c) => c.table.endpoints);
    return this.everyEndpoint;
  }

  list(namespace: string): Endpoint[] {
    return this.namespaces.get(namespace)?.table.endpoints ?? [];
  }

  /**
   * The registry version a reader must have to see every write this process made to the
   * namespace: publishes carry it, and a worker with an older copy re-reads before it delivers.
   */
  versionOf(namespace: string): number {
    return this.registries.versionOf(namespace);
  }

  eventType(namespace: string, name: string): EventTypeDefinition | undefined {
    return this.namespaces.get(namespace)?.eventTypes.get(name);
  }

  eventTypes(namespace: string): EventTypeDefinition[] {
    return this.namespaces.get(namespace)?.table.eventTypes ?? [];
  }

  /** Applies this process's own write to the copy. */
  private applyLocally(namespace: string, change: Partial<EndpointTable>, version: number): void {
    const table = this.namespaces.get(namespace)?.table ?? { version: 0, endpoints: [], eventTypes: [] };
    this.registries.wrote(namespace, version, { ...table, ...change });
  }

  private withEndpoint(ref: EndpointRef, endpoint: Endpoint | null): Partial<EndpointTable> {
    const endpoints = this.list(ref.namespace).filter((e) => key(e) !== key(ref));
    if (endpoint) endpoints.push(endpoint);
    return { endpoints };
  }

  private others({ namespace, name }: { namespace: string; name: string }): EventTypeDefinition[] {
    return this.eventTypes(namespace).filter((t) => t.name !== name);
  }

  async putEventType(eventType: EventTypeDefinition): Promise<void> {
    const version = await this.registries.write(eventType.namespace, putEventTypeUpdate, eventType);
    this.applyLocally(eventType.namespace, { eventTypes: [...this.others(eventType), eventType] }, version);
  }

  async removeEventType(ref: { namespace: string; name: string }): Promise<void> {
    const version = await this.registries.write(ref.namespace, removeEventTypeUpdate, ref);
    this.applyLocally(ref.namespace, { eventTypes: this.others(ref) }, version);
  }

  async put(endpoint: Endpoint): Promise<void> {
    const version = await this.registries.write(endpoint.namespace, putEndpointUpdate, endpoint);
    this.applyLocally(endpoint.namespace, this.withEndpoint(endpoint, endpoint), version);
  }

  async remove(ref: EndpointRef): Promise<void> {
    const version = await this.registries.write(ref.namespace, removeEndpointUpdate, ref);
    this.applyLocally(ref.namespace, this.withEndpoint(ref, null), version);
  }

  async setEnabled(ref: EndpointRef, enabled: boolean, reason: string | null): Promise<Endpoint | null> {
    const { endpoint, version } = await this.registry(ref.namespace).executeUpdate(setEnabledUpdate, { args: [{ ...ref, enabled, reason }] });
    if (endpoint) this.applyLocally(ref.namespace, this.withEndpoint(ref, endpoint), version);
    return endpoint;
  }

  /** The endpoint as of at least `version`, re-reading its namespace once if this copy is older or says it is disabled. */
  async current(ref: EndpointRef, version: number): Promise<Endpoint | undefined> {
    const known = this.get(ref.namespace, ref.id);
    if (this.registries.versionLoaded(ref.namespace) >= version && known?.enabled) return known;
    await this.registries.readNamespace(ref.namespace);
    return this.get(ref.namespace, ref.id);
  }

  /** Asks the registry whether a delivery to a paused endpoint may go (as the probe, or because it recovered). */
  admit(ref: EndpointRef): Promise<{ go: boolean; until?: number }> {
    return this.registry(ref.namespace).executeUpdate(admitUpdate, { args: [ref] });
  }

  /**
   * Tells the circuit breaker how an attempt went and answers the endpoint as it is after that
   * (paused? disabled?). Failures always; successes only when the endpoint was not healthy, so a
   * healthy endpoint's deliveries cost the registry nothing.
   */
  async report(ref: EndpointRef, ok: boolean, error?: string): Promise<Endpoint | undefined> {
    const known = this.get(ref.namespace, ref.id);
    if (ok && known?.health.state === 'healthy' && !this.failedHere.has(key(ref))) return known;
    if (ok) this.failedHere.delete(key(ref));
    else this.failedHere.add(key(ref));
    const now = await this.registry(ref.namespace).executeUpdate(deliveryOutcomeUpdate, { args: [{ ...ref, ok, ...(error ? { error } : {}) }] });
    if (!now) return undefined;
    // Seen here at once; the next refresh brings the registry's version.
    const copy = this.namespaces.get(ref.namespace);
    if (copy) this.load(ref.namespace, { ...copy.table, ...this.withEndpoint(ref, now) });
    return now;
  }
}
