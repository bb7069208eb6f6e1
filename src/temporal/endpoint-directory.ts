import type { Client } from '@temporalio/client';
import { WorkflowIdConflictPolicy } from '@temporalio/common';
import type { EndpointRegistryWorkflow } from '../workflows/endpoints';
import type { Endpoint, EndpointRef, EndpointTable, HealthPolicy } from '../workflows/endpoints.messages';
import {
  admitUpdate,
  deliveryOutcomeSignal,
  endpointTableQuery,
  putEndpointUpdate,
  removeEndpointUpdate,
  setEnabledUpdate,
} from '../workflows/endpoints.messages';
import { ENDPOINT_REGISTRY_WORKFLOW_ID, indexTaskQueue } from '../workflows/ids';

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
  private timer: NodeJS.Timeout | undefined;
  private readonly listeners: ((endpoints: Endpoint[]) => void)[] = [];
  /** Endpoints this process saw fail: their next success is reported even if the copy says healthy. */
  private readonly failedHere = new Set<string>();

  constructor(
    private readonly client: Client,
    private readonly options: EndpointDirectoryOptions,
  ) {}

  private get registry() {
    return this.client.workflow.getHandle<typeof EndpointRegistryWorkflow>(ENDPOINT_REGISTRY_WORKFLOW_ID);
  }

  /** Makes sure the registry runs, loads it, and keeps it current. */
  async start(): Promise<void> {
    await this.client.workflow.start<typeof EndpointRegistryWorkflow>('EndpointRegistryWorkflow', {
      workflowId: ENDPOINT_REGISTRY_WORKFLOW_ID,
      taskQueue: indexTaskQueue(this.options.taskQueue),
      args: [{ policy: this.options.policy, table: { version: 0, endpoints: [] } }],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    });
    await this.refresh();
    this.timer = setInterval(() => void this.refresh().catch(this.options.onRefreshError), this.options.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Re-reads the registry if it changed. */
  async refresh(): Promise<void> {
    const table = await this.registry.query(endpointTableQuery, { knownVersion: this.table.version });
    if (table) this.load(table);
  }

  private load(table: EndpointTable): void {
    this.table = table;
    this.byKey = new Map(table.endpoints.map((e) => [key(e), e]));
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

  private applyLocally(endpoint: Endpoint | null, ref: EndpointRef): void {
    const endpoints = this.table.endpoints.filter((e) => key(e) !== key(ref));
    if (endpoint) endpoints.push(endpoint);
    // The version is left as read, so the next refresh fetches the registry's own copy.
    this.load({ version: this.table.version, endpoints });
  }

  async put(endpoint: Endpoint): Promise<void> {
    await this.registry.executeUpdate(putEndpointUpdate, { args: [endpoint] });
    this.applyLocally(endpoint, endpoint);
  }

  async remove(ref: EndpointRef): Promise<boolean> {
    const existed = await this.registry.executeUpdate(removeEndpointUpdate, { args: [ref] });
    this.applyLocally(null, ref);
    return existed;
  }

  async setEnabled(ref: EndpointRef, enabled: boolean, reason: string | null): Promise<Endpoint | null> {
    const endpoint = await this.registry.executeUpdate(setEnabledUpdate, { args: [{ ...ref, enabled, reason }] });
    if (endpoint) this.applyLocally(endpoint, ref);
    return endpoint;
  }

  /** Asks the registry whether a delivery to a paused endpoint may go (as the probe, or because it recovered). */
  admit(ref: EndpointRef): Promise<{ go: boolean; until?: number }> {
    return this.registry.executeUpdate(admitUpdate, { args: [ref] });
  }

  /**
   * Tells the circuit breaker how an attempt went. Failures always; successes only when the
   * endpoint was not healthy, so a healthy endpoint's deliveries cost the registry nothing.
   */
  async report(ref: EndpointRef, ok: boolean, error?: string): Promise<void> {
    const known = this.byKey.get(key(ref));
    if (ok && known?.health.state === 'healthy' && !this.failedHere.has(key(ref))) return;
    if (ok) this.failedHere.delete(key(ref));
    else this.failedHere.add(key(ref));
    await this.registry.signal(deliveryOutcomeSignal, { ...ref, ok, ...(error ? { error } : {}) });
  }
}
