import type { Client } from '@temporalio/client';
import { WorkflowIdConflictPolicy } from '@temporalio/common';
import type { EndpointRegistryWorkflow } from '../workflows/endpoints';
import type { Endpoint, EndpointRef, EndpointTable, EventTypeDefinition, HealthPolicy } from '../workflows/endpoints.messages';
import {
  admitUpdate,
  deliveryOutcomeUpdate,
  endpointTableQuery,
  putEndpointUpdate,
  putEventTypeUpdate,
  removeEndpointUpdate,
  removeEventTypeUpdate,
  setEnabledUpdate,
} from '../workflows/endpoints.messages';
import { ENDPOINT_REGISTRY_WORKFLOW_ID, indexTaskQueue } from '../workflows/ids';
import { Refresher } from './refresher';

const key = ({ namespace, id }: EndpointRef) => `${namespace}/${id}`;

export interface EndpointDirectoryOptions {
  taskQueue: string;
  policy: HealthPolicy;
  refreshMs: number;
  onRefreshError: (err: unknown) => void;
}

/**
 * A process's copy of the endpoint registry. Reads are from memory; the copy is re-read when the
 * registry's version moved (checked every `refreshMs`, a query that answers null when nothing
 * changed), and writes made through this process apply to it at once.
 */
export class EndpointDirectory {
  private table: EndpointTable = { version: -1, endpoints: [] };
  private byKey = new Map<string, Endpoint>();
  private eventTypesByKey = new Map<string, EventTypeDefinition>();
  private readonly refresher: Refresher;
  private readonly listeners: ((endpoints: Endpoint[]) => void)[] = [];
  /** Endpoints this process saw fail: their next success is reported even if the copy says healthy. */
  private readonly failedHere = new Set<string>();

  constructor(
    private readonly client: Client,
    private readonly options: EndpointDirectoryOptions,
  ) {
    this.refresher = new Refresher(client, () => this.read(), options.refreshMs, options.onRefreshError);
  }

  private get registry() {
    return this.client.workflow.getHandle<typeof EndpointRegistryWorkflow>(ENDPOINT_REGISTRY_WORKFLOW_ID);
  }

  /** Whether the registry was read at least once: until then, nothing can be published. */
  get loaded(): boolean {
    return this.table.version >= 0;
  }

  /**
   * Makes sure the registry runs and keeps the copy current. A first read that fails (no worker
   * yet) is reported and retried on the next tick; `loaded` says when the copy is usable.
   */
  async start(): Promise<void> {
    await this.client.workflow.start<typeof EndpointRegistryWorkflow>('EndpointRegistryWorkflow', {
      workflowId: ENDPOINT_REGISTRY_WORKFLOW_ID,
      taskQueue: indexTaskQueue(this.options.taskQueue),
      args: [{ policy: this.options.policy, table: { version: 0, endpoints: [] } }],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    });
    this.refresher.start();
    await this.refresh().catch(this.options.onRefreshError);
  }

  stop(): Promise<void> {
    return this.refresher.stop();
  }

  /** Re-reads the registry if it changed. */
  refresh(): Promise<void> {
    return this.refresher.now();
  }

  private async read(): Promise<void> {
    const table = await this.registry.query(endpointTableQuery, { knownVersion: this.table.version });
    // A read begun before this process's own write may answer after it: never step back past that write.
    if (table && table.version >= this.written) this.load(table);
  }

  private load(table: EndpointTable): void {
    this.table = table;
    this.byKey = new Map(table.endpoints.map((e) => [key(e), e]));
    this.eventTypesByKey = new Map((table.eventTypes ?? []).map((t) => [`${t.namespace}/${t.name}`, t]));
    for (const listener of this.listeners) listener(table.endpoints);
  }

  /** Called with every endpoint whenever the copy changes (workers follow rate limits with it). */
  onChange(listener: (endpoints: Endpoint[]) => void): void {
    this.listeners.push(listener);
    listener(this.table.endpoints);
  }

  get(namespace: string, id: string): Endpoint | undefined {
    return this.byKey.get(key({ namespace, id }));
  }

  all(): Endpoint[] {
    return this.table.endpoints;
  }

  list(namespace: string): Endpoint[] {
    return this.table.endpoints.filter((e) => e.namespace === namespace);
  }

  /**
   * The registry version a reader must have to see every write this process made: publishes carry
   * it, and a worker with an older copy re-reads before it delivers.
   */
  get version(): number {
    return Math.max(this.table.version, this.written);
  }

  private written = -1;

  eventType(namespace: string, name: string): EventTypeDefinition | undefined {
    return this.eventTypesByKey.get(`${namespace}/${name}`);
  }

  eventTypes(namespace: string): EventTypeDefinition[] {
    return (this.table.eventTypes ?? []).filter((t) => t.namespace === namespace);
  }

  /** Applies this process's own write; the copy counts as current only if no other write came between. */
  private applyLocally(change: Partial<EndpointTable>, version: number): void {
    this.written = Math.max(this.written, version);
    this.load({ ...this.table, ...change, version: version === this.table.version + 1 ? version : this.table.version });
  }

  private withEndpoint(ref: EndpointRef, endpoint: Endpoint | null): Partial<EndpointTable> {
    const endpoints = this.table.endpoints.filter((e) => key(e) !== key(ref));
    if (endpoint) endpoints.push(endpoint);
    return { endpoints };
  }

  async putEventType(eventType: EventTypeDefinition): Promise<void> {
    const version = await this.registry.executeUpdate(putEventTypeUpdate, { args: [eventType] });
    this.applyLocally({ eventTypes: [...this.others(eventType), eventType] }, version);
  }

  async removeEventType(ref: { namespace: string; name: string }): Promise<void> {
    const version = await this.registry.executeUpdate(removeEventTypeUpdate, { args: [ref] });
    this.applyLocally({ eventTypes: this.others(ref) }, version);
  }

  private others({ namespace, name }: { namespace: string; name: string }): EventTypeDefinition[] {
    return (this.table.eventTypes ?? []).filter((t) => t.namespace !== namespace || t.name !== name);
  }

  async put(endpoint: Endpoint): Promise<void> {
    const version = await this.registry.executeUpdate(putEndpointUpdate, { args: [endpoint] });
    this.applyLocally(this.withEndpoint(endpoint, endpoint), version);
  }

  async remove(ref: EndpointRef): Promise<void> {
    const version = await this.registry.executeUpdate(removeEndpointUpdate, { args: [ref] });
    this.applyLocally(this.withEndpoint(ref, null), version);
  }

  async setEnabled(ref: EndpointRef, enabled: boolean, reason: string | null): Promise<Endpoint | null> {
    const { endpoint, version } = await this.registry.executeUpdate(setEnabledUpdate, { args: [{ ...ref, enabled, reason }] });
    if (endpoint) this.applyLocally(this.withEndpoint(ref, endpoint), version);
    return endpoint;
  }

  /** The endpoint as of at least `version`, re-reading the registry once if this copy is older or says it is disabled. */
  async current(ref: EndpointRef, version: number): Promise<Endpoint | undefined> {
    const known = this.get(ref.namespace, ref.id);
    if (this.table.version >= version && known?.enabled) return known;
    await this.refresh();
    return this.get(ref.namespace, ref.id);
  }

  /** Asks the registry whether a delivery to a paused endpoint may go (as the probe, or because it recovered). */
  admit(ref: EndpointRef): Promise<{ go: boolean; until?: number }> {
    return this.registry.executeUpdate(admitUpdate, { args: [ref] });
  }

  /**
   * Tells the circuit breaker how an attempt went and answers the endpoint as it is after that
   * (paused? disabled?). Failures always; successes only when the endpoint was not healthy, so a
   * healthy endpoint's deliveries cost the registry nothing.
   */
  async report(ref: EndpointRef, ok: boolean, error?: string): Promise<Endpoint | undefined> {
    const known = this.byKey.get(key(ref));
    if (ok && known?.health.state === 'healthy' && !this.failedHere.has(key(ref))) return known;
    if (ok) this.failedHere.delete(key(ref));
    else this.failedHere.add(key(ref));
    const now = await this.registry.executeUpdate(deliveryOutcomeUpdate, { args: [{ ...ref, ok, ...(error ? { error } : {}) }] });
    if (!now) return undefined;
    // Seen here at once; the next refresh brings the registry's version.
    this.load({ ...this.table, ...this.withEndpoint(ref, now) });
    return now;
  }
}
