/**
 * Every failure Ferry raises on purpose, by a stable code that clients, logs and alerts may match
 * on. `src/api/errors.ts` maps each code to its HTTP answer, in one table.
 */
export const ErrorCode = {
  BadRequest: 'BAD_REQUEST',
  Unauthorized: 'UNAUTHORIZED',
  NotFound: 'NOT_FOUND',
  /** lmstfy's empty consume. */
  NoJobAvailable: 'NO_JOB_AVAILABLE',
  Conflict: 'CONFLICT',
  PayloadTooLarge: 'PAYLOAD_TOO_LARGE',
  UnsupportedMediaType: 'UNSUPPORTED_MEDIA_TYPE',
  RateLimited: 'RATE_LIMITED',
  UnknownEndpoint: 'UNKNOWN_ENDPOINT',
  FanOutTooLarge: 'FAN_OUT_TOO_LARGE',
  QuotaExceeded: 'QUOTA_EXCEEDED',
  InvalidSchema: 'INVALID_SCHEMA',
  EventSchemaMismatch: 'EVENT_SCHEMA_MISMATCH',
  /** Temporal is behind: publishes are refused for a while. */
  Overloaded: 'OVERLOADED',
  /** This process has not read a registry (tokens, endpoints) yet. */
  NotLoaded: 'NOT_LOADED',
  CodecKeyUnknown: 'CODEC_KEY_UNKNOWN',
  /** A delivery's target resolves to an address Ferry must not reach. */
  ForbiddenAddress: 'FORBIDDEN_ADDRESS',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** A failure with a stable code; its message is what a client reads. */
export class FerryError extends Error {
  override readonly name: string = 'FerryError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** For the refusals that pass: when to try again. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** The first FerryError in `err`'s cause chain. */
export function ferryErrorIn(err: unknown): FerryError | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) if (e instanceof FerryError) return e;
  return undefined;
}
