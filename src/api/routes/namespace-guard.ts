import type { FastifyInstance, FastifyRequest } from 'fastify';
import { notFound, tooManyRequests, unauthorized, unsupportedMediaType } from '../errors';
import { boundedJson } from '../json-body';

/** The token of the namespace, as the queue API takes it: X-Token, `Authorization: Bearer`, or ?token=. */
function presentedToken(request: FastifyRequest): string | undefined {
  const header = request.headers['x-token'];
  if (typeof header === 'string' && header !== '') return header;
  const authorization = request.headers.authorization;
  if (authorization?.startsWith('Bearer ')) return authorization.slice('Bearer '.length);
  const fromQuery = (request.query as { token?: unknown } | undefined)?.token;
  return typeof fromQuery === 'string' ? fromQuery : undefined;
}

/**
 * For the JSON resources under `/<resource>/:namespace` (push, schedules): the namespace's token
 * and its rate limit, checked before the body is read, and one JSON body parser.
 */
export function guardNamespace(app: FastifyInstance, resource: string): void {
  const { tokens, limiter } = app.ferry;

  // These bodies are JSON (the queue API around these plugins takes raw bytes).
  app.addContentTypeParser('application/json', { parseAs: 'string' }, boundedJson(app.getDefaultJsonParser('error', 'error')));
  app.decorateRequest('charged', undefined);

  // Before the body is read: a request without a valid token costs no parsing. Reads are charged
  // to the token's read limit, everything else to its write limit, as the queue API does.
  app.addHook('onRequest', async (request) => {
    const { namespace } = request.params as { namespace: string };
    const check = await tokens.verify(namespace, presentedToken(request));
    if (!check.ok) throw check.error === 'pool not found' ? notFound(check.error) : unauthorized(check.error);
    const access = request.method === 'GET' ? 'read' : 'write';
    if (!limiter.acquire(check.record, access)) throw tooManyRequests(`token(${check.record.id}) ${access} reach the limit rate, please retry later`);
    request.charged = check.record;
  });
  // Only calls that succeeded count, as on the queue API.
  app.addHook('onResponse', async (request, reply) => {
    if (request.charged && reply.statusCode >= 400) limiter.refund(request.charged, request.method === 'GET' ? 'read' : 'write');
  });

  app.addHook('preValidation', async (request) => {
    // Bytes or text here means the JSON parser did not run: another content type was sent.
    if (typeof request.body === 'string' || Buffer.isBuffer(request.body)) {
      throw unsupportedMediaType(`${resource} requests take JSON bodies (content-type: application/json)`);
    }
    // An action without a body (`POST …/enable`) means its defaults (Fastify would validate null).
    if (request.method !== 'GET') request.body ??= {};
  });
}
