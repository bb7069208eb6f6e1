import { defineQuery, defineUpdate } from '@temporalio/workflow';

export interface RateLimit {
  read: number;
  write: number;
  /** Seconds. */
  interval: number;
}

/** A token as Ferry keeps it: only a hash of the secret is stored. */
export interface TokenRecord {
  namespace: string;
  /** The token's public id: its first characters, shown in listings instead of the secret. */
  id: string;
  /** SHA-256 of the full token, hex. */
  hash: string;
  description: string;
  createdAt: number;
  limit?: RateLimit;
}

export interface TokenTable {
  /** Grows on every change; API processes use it to see whether their copy is current. */
  version: number;
  tokens: TokenRecord[];
}

export interface TokenRegistryInput extends TokenTable {
  /**
   * The namespace this registry holds and how many tokens it may have. Absent in the one registry
   * of every namespace that Ferry kept before registries were partitioned; it runs until migrated.
   */
  namespace?: string;
  maxTokens?: number;
}

export const addTokenUpdate = defineUpdate<void, [TokenRecord]>('addToken');
/** Adds the tokens a namespace's registry lacks (moving from the unpartitioned registry). */
export const importTokensUpdate = defineUpdate<void, [TokenRecord[]]>('importTokens');
/** Answers whether the token existed. */
export const removeTokenUpdate = defineUpdate<boolean, [{ namespace: string; hash: string }]>('removeToken');
/** Sets or (with null) clears a token's rate limit; answers whether the token exists. */
export const setLimitUpdate = defineUpdate<boolean, [{ namespace: string; hash: string; limit: RateLimit | null }]>(
  'setLimit',
);
/** Answers null when the caller's version is current (the registry of every namespace from before always answers). */
export const tokenTableQuery = defineQuery<TokenTable | null, [{ knownVersion?: number }?]>('tokens');
