import type { FastifyError, FastifyInstance } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { ErrorCode, FerryError, ferryErrorIn } from '../errors';
import { mayHideFault, unavailableCodeOf } from '../temporal/temporal-errors';

export const badRequest = (message: string) => new FerryError(ErrorCode.BadRequest, message);
export const unauthorized = (message: string) => new FerryError(ErrorCode.Unauthorized, message);
export const notFound = (message: string) => new FerryError(ErrorCode.NotFound, message);
export const conflict = (message: string) => new FerryError(ErrorCode.Conflict, message);
export const payloadTooLarge = (message: string) => new FerryError(ErrorCode.PayloadTooLarge, message);
export const unsupportedMediaType = (message: string) => new FerryError(ErrorCode.UnsupportedMediaType, message);
export const noJobAvailable = () => new FerryError(ErrorCode.NoJobAvailable, 'no job available');
export const tooManyRequests = (message: string) => new FerryError(ErrorCode.RateLimited, message);

interface Answer {
  status: number;
  /** lmstfy answers an empty consume and a rate limit with `msg`, not `error`; its clients read them so. */
  field?: 'msg';
  /** Also says the code (the answers only an operator can mend). */
  withCode?: true;
}

/**
 * What each code answers. The bodies are the texts lmstfy clients match on: `{"error": message}`
 * unless said otherwise.
 */
const ANSWERS: Record<ErrorCode, Answer> = {
  [ErrorCode.BadRequest]: { status: 400 },
  [ErrorCode.UnknownEndpoint]: { status: 400 },
  [ErrorCode.FanOutTooLarge]: { status: 400 },
  [ErrorCode.QuotaExceeded]: { status: 400 },
  [ErrorCode.InvalidSchema]: { status: 400 },
  [ErrorCode.EventSchemaMismatch]: { status: 400 },
  [ErrorCode.Unauthorized]: { status: 401 },
  [ErrorCode.NotFound]: { status: 404 },
  [ErrorCode.NoJobAvailable]: { status: 404, field: 'msg' },
  [ErrorCode.Conflict]: { status: 409 },
  [ErrorCode.PayloadTooLarge]: { status: 413 },
  [ErrorCode.UnsupportedMediaType]: { status: 415 },
  [ErrorCode.RateLimited]: { status: 429, field: 'msg' },
  // The request was right and the server's keys are wrong; no retry helps before an operator acts.
  [ErrorCode.CodecKeyUnknown]: { status: 500, withCode: true },
  // Raised inside deliveries, never by a route: if one ever reached a request, it was Ferry's fault.
  [ErrorCode.ForbiddenAddress]: { status: 500 },
  [ErrorCode.Overloaded]: { status: 503 },
  [ErrorCode.NotLoaded]: { status: 503 },
};

/** The one place where errors become HTTP answers. */
export function registerErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const known = ferryErrorIn(err);
    if (known) {
      const { status, field = 'error', withCode } = ANSWERS[known.code];
      if (status >= 500) request.log.error({ err: known }, known.message);
      if (known.retryAfterSeconds !== undefined) void reply.header('Retry-After', String(known.retryAfterSeconds));
      return reply.status(status).send({ [field]: known.message, ...(withCode ? { code: known.code } : {}) });
    }
    if (hasZodFastifySchemaValidationErrors(err)) {
      return reply.status(400).send({ error: err.validation[0]?.message ?? 'invalid request' });
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.status(413).send({ error: 'body too large' });
    if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.status(err.statusCode).send({ error: err.message });
    }
    const code = unavailableCodeOf(err);
    if (code !== undefined) {
      if (mayHideFault(code)) request.log.error({ err }, 'Temporal call failed');
      else request.log.warn({ err }, 'Temporal unavailable');
      return reply.status(503).header('Retry-After', '1').send({ error: 'temporal unavailable, retry later' });
    }
    request.log.error({ err }, 'request failed');
    return reply.status(500).send({ error: 'internal error' });
  });
}
