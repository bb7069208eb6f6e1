import { createHash, randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { migrateLegacyRegistry, NamespacedRegistries } from './namespaced-registry';
import { LEGACY_TOKEN_REGISTRY_WORKFLOW_ID, TOKEN_CATALOG_WORKFLOW_ID, tokenRegistryWorkflowId } from '../workflows/ids';
import type { TokenRegistryWorkflow } from '../workflows/tokens';
import type { RateLimit, TokenRecord, TokenTable } from '../workflows/tokens.messages';
import { addTokenUpdate, importTokensUpdate, removeTokenUpdate, setLimitUpdate, tokenTableQuery } from '../workflows/tokens.messages';
import { ErrorCode, FerryError } from '../errors';

/** Tokens a namespace may have: its registry answers all of them in one query. */
export const DEFAULT_MAX_TOKENS = 1000;
/** A token description; lmstfy sets none, but every description is in every read of the registry. */
export const MAX_TOKEN_DESCRIPTION = 1024;

/** Ferry has one pool; lmstfy clients may still send `default:<token>`. */
export const DEFAULT_POOL = 'default';
export const MIN_USER_TOKEN_LENGTH = 20;

const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');
/** The public id shown in listings: a prefix of the hash, never of the secret itself. */
const tokenId = (hash: string): string => hash.slice(0, 12);
/**
 * An unknown token re-reads its namespace's registry at most this often: a wrong token's 401 waits
 * up to this long plus one query, which must stay well under the request timeout…
 */
const MISS_REREAD_MS = 200;
/** …and all namespaces together at most this many times a second. */
const MAX_MISS_REREADS_PER_SECOND = 20;

/** No copy of the tokens could be read yet (no worker answers): the caller should retry shortly. */
export class TokensNotLoadedError extends FerryError {
  override readonly name = 'TokensNotLoadedError';
  constructor() {
    super(ErrorCode.NotLoaded, 'tokens not loaded yet, retry later', 1);
  }
}

export type TokenCheck = { ok: true; record: TokenRecord } | { ok: false; error: 'token not found' | 'invalid token' | 'pool not found' };

/**
 * Tokens live (as SHA-256 hashes) in one TokenRegistryWorkflow per namespace. Each API process
 * keeps a copy that follows the registries through their catalog every `refreshMs`, so a deleted
 * token stops working everywhere within that time.
 */
export class TokenStore {
  /** Per namespace, its tokens by hash. */
  private readonly byNamespace = new Map<string, Map<string, TokenRecord>>();
  /** Per namespace, the registry read unknown tokens wait for, until it starts. */
  private readonly nextReread = new Map<string, Promise<void>>();
  /** Per namespace, when its last such read started (forgotten MISS_REREAD_MS later). */
  private readonly lastReread = new Map<string, number>();
  private rereadBudget = { second: 0, used: 0 };
  private readonly registries: NamespacedRegistries<TokenTable, typeof TokenRegistryWorkflow>;

  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
    refreshMs: number,
    private readonly onRefreshError: (err: unknown) => void,
    private readonly maxTokens = DEFAULT_MAX_TOKENS,
  ) {
    this.registries = new NamespacedRegistries<TokenTable, typeof TokenRegistryWorkflow>(client, {
      workflowType: 'TokenRegistryWorkflow',
      workflowId: tokenRegistryWorkflowId,
      startArgs: (namespace) => [{ version: 0, tokens: [], namespace, maxTokens }],
      catalogId: TOKEN_CATALOG_WORKFLOW_ID,
      taskQueue,
      read: (namespace, knownVersion) => this.registry(namespace).query(tokenTableQuery, { knownVersion }),
      load: (namespace, table) => this.byNamespace.set(namespace, new Map(table.tokens.map((t) => [t.hash, t]))),
      refreshMs,
      onRefreshError,
    });
  }

  private registry(namespace: string) {
    return this.client.workflow.getHandle<typeof TokenRegistryWorkflow>(tokenRegistryWorkflowId(namespace));
  }

  /** Makes sure the catalog runs, moves tokens kept before partitioning, loads, and keeps reloading. */
  async start(): Promise<void> {
    await this.registries.start();
    await migrateLegacyRegistry<typeof TokenRegistryWorkflow>(this.client, LEGACY_TOKEN_REGISTRY_WORKFLOW_ID, async (legacy) => {
      const { tokens } = (await legacy.query(tokenTableQuery))!;
      for (const namespace of new Set(tokens.map((t) => t.namespace))) {
        await this.registries.write(namespace, importTokensUpdate, tokens.filter((t) => t.namespace === namespace));
        // The catalog hears of the new registry a moment later: read it now.
        await this.registries.readNamespace(namespace);
      }
    });
    // With no worker polling yet (an API started first), the server refuses the read: requests
    // answer 503 until a refresh gets through (`verify`).
    await this.refresh().catch(this.onRefreshError);
  }

  stop(): Promise<void> {
    return this.registries.stop();
  }

  refresh(): Promise<void> {
    return this.registries.refresh();
  }

  private tokensOf(namespace: string): Map<string, TokenRecord> {
    return this.byNamespace.get(namespace) ?? new Map<string, TokenRecord>();
  }

  /** Checks a raw token as lmstfy clients send it (`[pool:]token`) against a namespace. */
  check(namespace: string, raw: string | undefined): TokenCheck {
    const colon = raw?.indexOf(':') ?? -1;
    const pool = colon >= 0 ? raw!.slice(0, colon) : DEFAULT_POOL;
    const token = colon >= 0 ? raw!.slice(colon + 1) : raw;
    if (pool !== DEFAULT_POOL) return { ok: false, error: 'pool not found' };
    if (!token) return { ok: false, error: 'token not found' };
    const record = this.tokensOf(namespace).get(hashToken(token));
    return record ? { ok: true, record } : { ok: false, error: 'invalid token' };
  }

  /**
   * `check`, but a token this copy does not know yet (created a moment ago through another API
   * process) is looked up in its namespace's registry first, by a read that starts after the miss.
   * Reads are bounded: one per namespace per MISS_REREAD_MS, MAX_MISS_REREADS_PER_SECOND in all,
   * so a stream of wrong tokens costs Temporal little (past the bound they answer 401 at once).
   */
  async verify(namespace: string, raw: string | undefined): Promise<TokenCheck> {
    // As for endpoints: the background refresh keeps trying; a request does not wait for it.
    if (!this.registries.loaded) throw new TokensNotLoadedError();
    const check = this.check(namespace, raw);
    if (check.ok || check.error !== 'invalid token') return check;
    const reread = this.rereadSoon(namespace);
    if (!reread) return check;
    await reread;
    return this.check(namespace, raw);
  }

  private rereadSoon(namespace: string): Promise<void> | undefined {
    const scheduled = this.nextReread.get(namespace);
    if (scheduled) return scheduled;
    const second = Math.floor(Date.now() / 1000);
    if (this.rereadBudget.second !== second) this.rereadBudget = { second, used: 0 };
    if (this.rereadBudget.used >= MAX_MISS_REREADS_PER_SECOND) return undefined;
    this.rereadBudget.used++;
    const wait = Math.max(0, (this.lastReread.get(namespace) ?? -Infinity) + MISS_REREAD_MS - Date.now());
    const next = new Promise((resolve) => setTimeout(resolve, wait)).then(async () => {
      // Misses from here on need a read that starts after them: the next one.
      this.nextReread.delete(namespace);
      this.lastReread.set(namespace, Date.now());
      setTimeout(() => this.lastReread.delete(namespace), MISS_REREAD_MS).unref();
      await this.registries.readNamespace(namespace).catch(() => undefined);
    });
    this.nextReread.set(namespace, next);
    return next;
  }

  /** Creates a token (random unless the caller brings one) and answers it; only its hash is kept. */
  async create(namespace: string, description: string, token?: string): Promise<string> {
    const secret = token ?? randomBytes(20).toString('base64url');
    const hash = hashToken(secret);
    const record: TokenRecord = { namespace, id: tokenId(hash), hash, description, createdAt: Date.now() };
    await this.registries.write(namespace, addTokenUpdate, record);
    await this.registries.readNamespace(namespace);
    return secret;
  }

  exists(namespace: string, token: string): boolean {
    return this.tokensOf(namespace).has(hashToken(token));
  }

  /** Finds a token by its secret or by its public id. */
  find(namespace: string, tokenOrId: string): TokenRecord | undefined {
    const raw = tokenOrId.startsWith(`${DEFAULT_POOL}:`) ? tokenOrId.slice(DEFAULT_POOL.length + 1) : tokenOrId;
    const tokens = this.tokensOf(namespace);
    return tokens.get(hashToken(raw)) ?? [...tokens.values()].find((t) => t.id === raw);
  }

  async remove(namespace: string, tokenOrId: string): Promise<void> {
    const record = this.find(namespace, tokenOrId);
    if (!record) return;
    await this.registries.write(namespace, removeTokenUpdate, { namespace, hash: record.hash });
    await this.registries.readNamespace(namespace);
  }

  async setLimit(record: TokenRecord, limit: RateLimit | null): Promise<void> {
    await this.registries.write(record.namespace, setLimitUpdate, { namespace: record.namespace, hash: record.hash, limit });
    await this.registries.readNamespace(record.namespace);
  }

  list(namespace: string): TokenRecord[] {
    return [...this.tokensOf(namespace).values()];
  }

  all(): TokenRecord[] {
    return [...this.byNamespace.values()].flatMap((tokens) => [...tokens.values()]);
  }
}
