import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { isGrpcServiceError } from '@temporalio/client';
import { EventSchemaError, InvalidSchemaError } from '../push/event-schemas';
import { QuotaExceededError } from '../temporal/namespaced-registry';
import { UnknownCodecKeyError } from '../temporal/payload-codec';
import { OverloadedError } from '../temporal/publish-gate';
import { EndpointsNotLoadedError, FanOutTooLargeError, UnknownEndpointError } from '../temporal/push-service';
import { TokensNotLoadedError } from './tokens';

/**
 * An error with a status and the exact JSON body lmstfy clients expect. Every 4xx Ferry sends is one
 * of these; anything else becomes a 500 (or a 503 when Temporal cannot be reached) without details.
 */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly body: Record<string, unknown>,
  ) {
    super(typeof body.error === 'string' ? body.error : typeof body.msg === 'string' ? body.msg : `HTTP ${statusCode}`);
  }
}

export const badRequest = (error: string) => new ApiError(400, { error });
export const unauthorized = (error: string) => new ApiError(401, { error });
export const notFound = (error: string) => new ApiError(404, { error });
export const conflict = (error: string) => new ApiError(409, { error });
export const payloadTooLarge = (error: string) => new ApiError(413, { error });
export const unsupportedMediaType = (error: string) => new ApiError(415, { error });
/** lmstfy answers an empty consume with `msg`, not `error`; its clients read it that way. */
export const noJobAvailable = () => new ApiError(404, { msg: 'no job available' });
export const tooManyRequests = (msg: string) => new ApiError(429, { msg });

/**
 * gRPC codes that mean Temporal failed or is down or overloaded, not that the request was wrong: the
 * client should retry (a publish with the same Idempotency-Key). A saturated server can answer
 * CANCELLED or INTERNAL when its own persistence call is cut ("context canceled"), and an
 * overloaded one ABORTED; a 500 for those told clients the request itself was at fault. An update
 * whose workflow task the server rejected is aborted with FAILED_PRECONDITION (WorkflowNotReady)
 * and was not applied: a lease then took no job, and a retry gets a new workflow task.
 */
const UNAVAILABLE_CODES = new Set([
  1 /* CANCELLED */,
  2 /* UNKNOWN */,
  4 /* DEADLINE_EXCEEDED */,
  8 /* RESOURCE_EXHAUSTED */,
  9 /* FAILED_PRECONDITION */,
  10 /* ABORTED */,
  13 /* INTERNAL */,
  14 /* UNAVAILABLE */,
]);

function temporalFailureCode(err: unknown): number | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (isGrpcServiceError(e) && UNAVAILABLE_CODES.has(e.code)) return e.code;
  }
  return undefined;
}

function causeOfType<T extends Error>(err: unknown, type: new (...args: never[]) => T): T | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) if (e instanceof type) return e;
  return undefined;
}

/** The one place where errors become HTTP answers. */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof ApiError) return reply.status(err.statusCode).send(err.body);
    if (err instanceof UnknownEndpointError || err instanceof FanOutTooLargeError || err instanceof QuotaExceededError || err instanceof EventSchemaError || err instanceof InvalidSchemaError) {
      return reply.status(400).send({ error: err.message });
    }
    if (err instanceof OverloadedError) {
      return reply.status(503).header('Retry-After', String(err.retryAfterSeconds)).send({ error: err.message });
    }
    if (err instanceof EndpointsNotLoadedError || err instanceof TokensNotLoadedError) return reply.status(503).header('Retry-After', '1').send({ error: err.message });
    if (hasZodFastifySchemaValidationErrors(err)) {
      return reply.status(400).send({ error: err.validation[0]?.message ?? 'invalid request' });
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.status(413).send({ error: 'body too large' });
    if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.status(err.statusCode).send({ error: err.message });
    }
    const unreadable = causeOfType(err, UnknownCodecKeyError);
    if (unreadable) {
      // The operator's to mend (the key must come back), not the client's, and a retry cannot
      // succeed before that: a 500, saying what is missing.
      request.log.error({ keyId: unreadable.keyId }, unreadable.message);
      return reply.status(500).send({ error: unreadable.message, code: unreadable.code });
    }
    const code = temporalFailureCode(err);
    if (code !== undefined) {
      // INTERNAL, UNKNOWN and FAILED_PRECONDITION may hide a fault that retrying will not cure: an operator should see them.
      if (code === 2 || code === 9 || code === 13) request.log.error({ err }, 'Temporal call failed');
      else request.log.warn({ err }, 'Temporal unavailable');
      return reply.status(503).header('Retry-After', '1').send({ error: 'temporal unavailable, retry later' });
    }
    request.log.error({ err }, 'request failed');
    return reply.status(500).send({ error: 'internal error' });
  });
}
