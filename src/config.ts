import { isIP } from 'node:net';
import { z } from 'zod';
import type { DataConverter } from '@temporalio/common';
import type { CodecKey } from './temporal/payload-codec';
import { RetentionPolicy } from './temporal/retention';
import { codecDataConverter, loadOrCreateKeyFile, parseCodecKeys } from './temporal/payload-codec';
import type { EndpointQuotas } from './workflows/endpoints.messages';
import type { IndexLimits } from './workflows/ordered-index.messages';
import { DEFAULT_INDEX_LIMITS } from './workflows/ordered-index.messages';

/** Whether a bind address is reachable from this machine only. */
const isLoopback = (host: string): boolean =>
  host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));

const seconds = z.coerce.number().int().min(0).max(2 ** 32 - 1);
const port = z.coerce.number().int().min(0).max(65535);
const entries = z.coerce.number().int().min(1).max(1_000_000);

/** Every setting Ferry reads, from the environment, validated once at start-up. */
export const configSchema = z.object({
  /** An existing Temporal frontend; unset means `npm start` runs an embedded dev server. */
  TEMPORAL_ADDRESS: z.string().min(1).optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  FERRY_TASK_QUEUE: z.string().min(1).default('ferry'),
  FERRY_DATA_DIR: z.string().min(1).default('./.ferry'),
  /**
   * `<id>:<base64 of 32 bytes>[,…]`: the payload codec's keys, the first encrypting, all decrypting.
   * Unset: the key file in FERRY_DATA_DIR, created on first start.
   */
  FERRY_CODEC_KEYS: z
    .string()
    .optional()
    .transform((s, ctx) => {
      if (s === undefined || s.trim() === '') return undefined;
      try {
        return parseCodecKeys(s);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
  /** Where the queue and push API listen: the one port meant for clients. */
  FERRY_HOST: z.string().min(1).default('127.0.0.1'),
  /** Where the admin API listens (tokens, limits, metrics); off loopback only with FERRY_ADMIN_ACCOUNTS. */
  FERRY_ADMIN_HOST: z.string().min(1).default('127.0.0.1'),
  /** Where the embedded dev server's gRPC frontend listens (full control of every workflow, no auth). */
  FERRY_TEMPORAL_HOST: z.string().min(1).default('127.0.0.1'),
  /** Where the embedded dev server's Web UI listens (every job body and event, no auth). */
  FERRY_UI_HOST: z.string().min(1).default('127.0.0.1'),
  /** Where the worker serves its Prometheus metrics. */
  FERRY_WORKER_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  FERRY_API_PORT: port.default(7777),
  FERRY_ADMIN_PORT: port.default(7778),
  FERRY_TEMPORAL_PORT: port.default(7233),
  FERRY_UI_PORT: port.default(8233),
  /**
   * Origins whose pages may call the codec endpoint (the Web UI's), comma-separated. Unset: the
   * embedded Web UI at FERRY_UI_HOST:FERRY_UI_PORT, and as localhost when that is loopback.
   */
  FERRY_CODEC_CORS_ORIGINS: z.string().optional(),
  /** Where the worker publishes the metrics only job workflows see (expired, dead, consume-to-ack). */
  FERRY_WORKER_METRICS_PORT: port.default(9464),
  /**
   * A request must arrive whole (headers and body) within this, or it is answered 408 and closed;
   * headers alone within 10 s at most. The time a response takes (a long poll) does not count.
   */
  FERRY_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
  /** `user:password` pairs separated by commas; when set, the admin API asks for HTTP basic auth. */
  FERRY_ADMIN_ACCOUNTS: z
    .string()
    .default('')
    .transform((s, ctx) => {
      const accounts: Record<string, string> = {};
      for (const pair of s.split(',').filter(Boolean)) {
        const at = pair.indexOf(':');
        if (at <= 0) {
          ctx.addIssue({ code: 'custom', message: `expected user:password, got "${pair}"` });
          return z.NEVER;
        }
        if (at === pair.length - 1) {
          ctx.addIssue({ code: 'custom', message: `the password of "${pair.slice(0, at)}" is empty` });
          return z.NEVER;
        }
        accounts[pair.slice(0, at)] = pair.slice(at + 1);
      }
      return accounts;
    }),
  FERRY_DEFAULT_DELAY: seconds.default(0),
  FERRY_DEFAULT_TTL: seconds.default(86400),
  FERRY_DEFAULT_TRIES: z.coerce.number().int().min(1).max(65535).default(1),
  FERRY_DEFAULT_TTR: seconds.default(120),
  FERRY_DEFAULT_TIMEOUT: seconds.default(0),
  /**
   * A job body must be smaller than 64 KiB, as in lmstfy; a bulk element too. At most 1 MiB: the
   * body travels base64 in the job workflow's input, which Temporal caps at 2 MB.
   */
  FERRY_MAX_JOB_BYTES: z.coerce.number().int().min(1).max(1024 * 1024).default(64 * 1024 - 1),
  /** How often each API process re-reads the token registry: a deleted token stops working by then. */
  FERRY_TOKEN_REFRESH_MS: z.coerce.number().int().min(100).max(60_000).default(2000),
  /** How often API processes and workers check the endpoint registry for changes. */
  FERRY_ENDPOINT_REFRESH_MS: z.coerce.number().int().min(100).max(60_000).default(1000),
  /** CIDRs deliveries may reach although they are loopback/private/link-local (tests, local development). */
  FERRY_PUSH_ALLOW_CIDRS: z
    .string()
    .default('')
    .transform((s, ctx) => {
      const cidrs = s.split(',').map((c) => c.trim()).filter(Boolean);
      for (const cidr of cidrs) {
        const [address = '', prefix] = cidr.split('/');
        const family = isIP(address);
        const max = family === 6 ? 128 : 32;
        if (!family || (prefix !== undefined && !(/^\d+$/.test(prefix) && Number(prefix) <= max))) {
          ctx.addIssue({ code: 'custom', message: `not a CIDR: "${cidr}"` });
          return z.NEVER;
        }
      }
      return cidrs;
    }),
  /** Longest Retry-After an endpoint can ask for; longer ones are cut to this. */
  FERRY_PUSH_MAX_RETRY_AFTER_S: seconds.default(600),
  /** An event's JSON envelope must be smaller than this; at most 1 MiB, as it is the push workflow's input (Temporal: 2 MB). */
  FERRY_PUSH_MAX_EVENT_BYTES: z.coerce.number().int().min(1024).max(1024 * 1024).default(256 * 1024),
  /** How long a publish (job or event) waits for Temporal; past it the API answers 503 with Retry-After. */
  FERRY_PUBLISH_TIMEOUT_MS: z.coerce.number().int().min(100).max(120_000).default(5000),
  /**
   * Publishes are refused (503, Retry-After) while a workflow task has waited longer than this for a
   * worker: Temporal is behind, and a job published now could not be consumed for that long. 0 never refuses.
   */
  FERRY_PUBLISH_MAX_BACKLOG_S: seconds.default(10),
  /**
   * How long events, their delivery records and dead letters are kept, counted from the publish (a
   * dead delivery: from its failure), in every namespace without a retention of its own. 0 = keep.
   */
  FERRY_RETENTION_S: seconds.default(7 * 86400),
  /**
   * `<namespace>=<seconds>[,…]`: namespaces' own retentions (0 = keep). A namespace listed here
   * also drops its jobs' dead letters after that long; elsewhere they are kept until respawned or deleted.
   */
  FERRY_NAMESPACE_RETENTION_S: z
    .string()
    .default('')
    .transform((s, ctx) => {
      const retentions: Record<string, number> = {};
      for (const item of s.split(',').map((i) => i.trim()).filter(Boolean)) {
        const match = /^([-_A-Za-z0-9]{1,255})=(\d{1,10})$/.exec(item);
        if (!match) {
          ctx.addIssue({ code: 'custom', message: `not <namespace>=<seconds>: "${item}"` });
          return z.NEVER;
        }
        retentions[match[1]!] = Number(match[2]);
      }
      return retentions;
    }),
  /** Consecutive failed attempts that pause an endpoint (circuit open). */
  FERRY_PUSH_FAILURES_TO_PAUSE: z.coerce.number().int().min(1).default(10),
  /** How long a paused endpoint waits before one probe delivery. */
  FERRY_PUSH_PAUSE_S: seconds.min(1).default(60),
  /** An endpoint whose every attempt failed for this long is disabled (Svix: 5 days). */
  FERRY_PUSH_DISABLE_AFTER_S: seconds.min(1).default(5 * 86400),
  /** Tokens one namespace may have; past it, creating one is a 400. */
  FERRY_MAX_TOKENS_PER_NAMESPACE: z.coerce.number().int().min(1).max(10_000).default(1000),
  /** Per-namespace quotas of the push API; past one, a write is a 400. */
  FERRY_PUSH_MAX_ENDPOINTS: z.coerce.number().int().min(1).max(10_000).default(1000),
  FERRY_PUSH_MAX_EVENT_TYPES: z.coerce.number().int().min(1).max(10_000).default(200),
  /** A namespace's endpoints and event types as JSON; its registry answers them in one payload (Temporal: 2 MB at most). */
  FERRY_PUSH_MAX_NAMESPACE_BYTES: z.coerce.number().int().min(64 * 1024).max(1536 * 1024).default(1024 * 1024),
  /** `npm run start:cluster`: history shards (fixed when its databases are first used), processes, PostgreSQL's port. */
  FERRY_CLUSTER_SHARDS: z.coerce.number().int().min(1).max(16_384).default(8),
  FERRY_CLUSTER_WORKERS: z.coerce.number().int().min(1).max(64).default(2),
  FERRY_CLUSTER_APIS: z.coerce.number().int().min(1).max(64).default(2),
  FERRY_CLUSTER_POSTGRES_PORT: port.default(5432),
  FERRY_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * How much of a queue's ready list (and dead letter) its index workflow keeps in memory; the rest
   * is spilled to visibility and listed back as the head runs low. Read when an index starts: a
   * running one keeps its own. Small values make a test spill and refill often.
   */
  FERRY_INDEX_MAX_IN_MEMORY: entries.default(DEFAULT_INDEX_LIMITS.maxInMemory),
  FERRY_INDEX_KEEP_HEAD: entries.default(DEFAULT_INDEX_LIMITS.keepHead),
  FERRY_INDEX_RANGE_SIZE: entries.default(DEFAULT_INDEX_LIMITS.rangeSize),
  FERRY_INDEX_REFILL_BELOW: entries.default(DEFAULT_INDEX_LIMITS.refillBelow),
  /** Only entries older than this are spilled: visibility has indexed them by then. */
  FERRY_INDEX_SETTLE_MS: z.coerce.number().int().min(0).max(3_600_000).default(DEFAULT_INDEX_LIMITS.settleMs),
})
  .superRefine((c, ctx) => {
    // Token minting must not be open to the network: off loopback, the admin API needs accounts.
    if (!isLoopback(c.FERRY_ADMIN_HOST) && Object.keys(c.FERRY_ADMIN_ACCOUNTS).length === 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['FERRY_ADMIN_HOST'],
        message: `${c.FERRY_ADMIN_HOST} is not a loopback address: set FERRY_ADMIN_ACCOUNTS so the admin API asks for credentials`,
      });
    }
    // Spilling keeps the head; a head below the refill mark would load back what was just spilled.
    if (c.FERRY_INDEX_KEEP_HEAD >= c.FERRY_INDEX_MAX_IN_MEMORY) {
      ctx.addIssue({ code: 'custom', path: ['FERRY_INDEX_KEEP_HEAD'], message: 'must be less than FERRY_INDEX_MAX_IN_MEMORY' });
    }
    if (c.FERRY_INDEX_REFILL_BELOW > c.FERRY_INDEX_KEEP_HEAD) {
      ctx.addIssue({ code: 'custom', path: ['FERRY_INDEX_REFILL_BELOW'], message: 'must not exceed FERRY_INDEX_KEEP_HEAD' });
    }
  });

export type Config = z.infer<typeof configSchema>;

/** The circuit breaker's settings, as the endpoint registry takes them. */
export const healthPolicy = (config: Config) => ({
  failuresToPause: config.FERRY_PUSH_FAILURES_TO_PAUSE,
  pauseMs: config.FERRY_PUSH_PAUSE_S * 1000,
  disableAfterMs: config.FERRY_PUSH_DISABLE_AFTER_S * 1000,
});

/** How long each namespace keeps its events, dead deliveries and (when set for it) dead jobs. */
export const retentionPolicy = (config: Config): RetentionPolicy =>
  new RetentionPolicy(config.FERRY_RETENTION_S * 1000, Object.entries(config.FERRY_NAMESPACE_RETENTION_S).map(([ns, s]) => [ns, s * 1000]));

/** What one namespace may register, as its endpoint registry takes it. */
export const endpointQuotas = (config: Config): EndpointQuotas => ({
  maxEndpoints: config.FERRY_PUSH_MAX_ENDPOINTS,
  maxEventTypes: config.FERRY_PUSH_MAX_EVENT_TYPES,
  maxTableBytes: config.FERRY_PUSH_MAX_NAMESPACE_BYTES,
});

/** The index workflows' memory bounds, as `OrderedIndex` takes them. */
export const indexLimits = (config: Config): IndexLimits => ({
  ...DEFAULT_INDEX_LIMITS,
  maxInMemory: config.FERRY_INDEX_MAX_IN_MEMORY,
  keepHead: config.FERRY_INDEX_KEEP_HEAD,
  rangeSize: config.FERRY_INDEX_RANGE_SIZE,
  refillBelow: config.FERRY_INDEX_REFILL_BELOW,
  settleMs: config.FERRY_INDEX_SETTLE_MS,
});

/** Where a browser on this machine reaches the admin API's codec endpoint. */
export function codecEndpointUrl(config: Config): string {
  const host = ['0.0.0.0', '::'].includes(config.FERRY_ADMIN_HOST) ? '127.0.0.1' : config.FERRY_ADMIN_HOST;
  return `http://${isIP(host) === 6 ? `[${host}]` : host}:${config.FERRY_ADMIN_PORT}/codec`;
}

/** The origins allowed to call the codec endpoint from a browser. */
export function codecCorsOrigins(config: Config): string[] {
  if (config.FERRY_CODEC_CORS_ORIGINS !== undefined) return config.FERRY_CODEC_CORS_ORIGINS.split(',').map((o) => o.trim()).filter(Boolean);
  const hosts = isLoopback(config.FERRY_UI_HOST) ? [config.FERRY_UI_HOST, 'localhost'] : [config.FERRY_UI_HOST];
  return [...new Set(hosts)].map((host) => `http://${host}:${config.FERRY_UI_PORT}`);
}

/** The payload codec's keys: FERRY_CODEC_KEYS, or the data folder's key file. */
export const codecKeys = (config: Config): CodecKey[] => config.FERRY_CODEC_KEYS ?? loadOrCreateKeyFile(config.FERRY_DATA_DIR);

/** The Temporal frontend the API and worker processes connect to. */
export const temporalAddress = (config: Config): string => config.TEMPORAL_ADDRESS ?? `${config.FERRY_TEMPORAL_HOST}:${config.FERRY_TEMPORAL_PORT}`;

/** The data converter of every Temporal connection a Ferry process makes. */
export const dataConverter = (config: Config): DataConverter => codecDataConverter(codecKeys(config));

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Reads the configuration; throws a ConfigError naming every invalid variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
}
