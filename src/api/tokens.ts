import { createHash, randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { WorkflowIdConflictPolicy } from '@temporalio/common';
import { Refresher } from '../temporal/refresher';
import { indexTaskQueue, TOKEN_REGISTRY_WORKFLOW_ID } from '../workflows/ids';
import type { TokenRegistryWorkflow } from '../workflows/tokens';
import type { RateLimit, TokenRecord } from '../workflows/tokens.messages';
import { addTokenUpdate, removeTokenUpdate, setLimitUpdate, tokenTableQuery } from '../workflows/tokens.messages';

/** Ferry has one pool; lmstfy clients may still send `default:<token>`. */
export const DEFAULT_POOL = 'default';
export const MIN_USER_TOKEN_LENGTH = 20;

const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');
/** The public id shown in listings: a prefix of the hash, never of the secret itself. */
const tokenId = (hash: string): string => hash.slice(0, 12);

export type TokenCheck = { ok: true; record: TokenRecord } | { ok: false; error: 'token not found' | 'invalid token' | 'pool not found' };

/**
 * Tokens live (as SHA-256 hashes) in the TokenRegistryWorkflow. Each API process keeps a copy and
 * re-reads it every `refreshMs`, so a deleted token stops working everywhere within that time.
 */
export class TokenStore {
  private byKey = new Map<string, TokenRecord>();
  /** Counts this process's own writes, so that a read begun before one cannot undo it. */
  private writes = 0;
  private readonly refresher: Refresher;

  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
    refreshMs: number,
    onRefreshError: (err: unknown) => void,
  ) {
    this.refresher = new Refresher(client, () => this.read(), refreshMs, onRefreshError);
  }

  private get registry() {
    return this.client.workflow.getHandle<typeof TokenRegistryWorkflow>(TOKEN_REGISTRY_WORKFLOW_ID);
  }

  /** Makes sure the registry runs, loads it, and keeps reloading it. */
  async start(): Promise<void> {
    await this.client.workflow.start<typeof TokenRegistryWorkflow>('TokenRegistryWorkflow', {
      workflowId: TOKEN_REGISTRY_WORKFLOW_ID,
      taskQueue: indexTaskQueue(this.taskQueue),
      args: [{ version: 0, tokens: [] }],
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
    });
    await this.refresh();
    this.refresher.start();
  }

  stop(): Promise<void> {
    return this.refresher.stop();
  }

  refresh(): Promise<void> {
    return this.refresher.now();
  }

  private async read(): Promise<void> {
    const writesBefore = this.writes;
    const table = await this.registry.query(tokenTableQuery);
    if (this.writes !== writesBefore) return;
    this.byKey = new Map(table.tokens.map((t) => [`${t.namespace}/${t.hash}`, t]));
  }

  /** Checks a raw token as lmstfy clients send it (`[pool:]token`) against a namespace. */
  check(namespace: string, raw: string | undefined): TokenCheck {
    const colon = raw?.indexOf(':') ?? -1;
    const pool = colon >= 0 ? raw!.slice(0, colon) : DEFAULT_POOL;
    const token = colon >= 0 ? raw!.slice(colon + 1) : raw;
    if (pool !== DEFAULT_POOL) return { ok: false, error: 'pool not found' };
    if (!token) return { ok: false, error: 'token not found' };
    const record = this.byKey.get(`${namespace}/${hashToken(token)}`);
    return record ? { ok: true, record } : { ok: false, error: 'invalid token' };
  }

  /** Creates a token (random unless the caller brings one) and answers it; only its hash is kept. */
  async create(namespace: string, description: string, token?: string): Promise<string> {
    const secret = token ?? randomBytes(20).toString('base64url');
    const hash = hashToken(secret);
    const record: TokenRecord = { namespace, id: tokenId(hash), hash, description, createdAt: Date.now() };
    await this.registry.executeUpdate(addTokenUpdate, { args: [record] });
    this.writes++;
    this.byKey.set(`${namespace}/${hash}`, record);
    return secret;
  }

  exists(namespace: string, token: string): boolean {
    return this.byKey.has(`${namespace}/${hashToken(token)}`);
  }

  /** Finds a token by its secret or by its public id. */
  find(namespace: string, tokenOrId: string): TokenRecord | undefined {
    const raw = tokenOrId.startsWith(`${DEFAULT_POOL}:`) ? tokenOrId.slice(DEFAULT_POOL.length + 1) : tokenOrId;
    return (
      this.byKey.get(`${namespace}/${hashToken(raw)}`) ??
      [...this.byKey.values()].find((t) => t.namespace === namespace && t.id === raw)
    );
  }

  async remove(namespace: string, tokenOrId: string): Promise<void> {
    const record = this.find(namespace, tokenOrId);
    if (!record) return;
    await this.registry.executeUpdate(removeTokenUpdate, { args: [{ namespace, hash: record.hash }] });
    this.writes++;
    this.byKey.delete(`${namespace}/${record.hash}`);
  }

  async setLimit(record: TokenRecord, limit: RateLimit | null): Promise<void> {
    await this.registry.executeUpdate(setLimitUpdate, { args: [{ namespace: record.namespace, hash: record.hash, limit }] });
    this.writes++;
    // The copy may have been reloaded while the update ran: change the record it holds now.
    const key = `${record.namespace}/${record.hash}`;
    const current = { ...(this.byKey.get(key) ?? record) };
    if (limit) current.limit = limit;
    else delete current.limit;
    this.byKey.set(key, current);
  }

  list(namespace: string): TokenRecord[] {
    return [...this.byKey.values()].filter((t) => t.namespace === namespace);
  }

  all(): TokenRecord[] {
    return [...this.byKey.values()];
  }
}

/**
 * lmstfy's per-token limits: a fixed window of `interval` seconds with separate read (consume) and
 * write (publish) budgets. Counted per API process.
 */
export class RateLimiter {
  private readonly windows = new Map<string, { start: number; read: number; write: number }>();

  /** Counts one call; false when it is over the limit (and then it is not counted). */
  acquire(record: TokenRecord, kind: 'read' | 'write', now = Date.now()): boolean {
    const limit = record.limit;
    if (!limit || limit[kind] <= 0) return true;
    const key = `${record.namespace}/${record.hash}`;
    let window = this.windows.get(key);
    if (!window || now - window.start >= limit.interval * 1000) {
      window = { start: now, read: 0, write: 0 };
      this.windows.set(key, window);
    }
    if (window[kind] >= limit[kind]) return false;
    window[kind]++;
    return true;
  }

  /** lmstfy does not charge calls that found no job or failed. */
  refund(record: TokenRecord, kind: 'read' | 'write'): void {
    const window = this.windows.get(`${record.namespace}/${record.hash}`);
    if (window && window[kind] > 0) window[kind]--;
  }
}
