import Fastify from 'fastify';
import { ServiceError } from '@temporalio/client';
import { noJobAvailable, registerErrorHandler, tooManyRequests } from '../../../src/api/errors';
import { TokensNotLoadedError } from '../../../src/temporal/token-store';
import { QuotaExceededError } from '../../../src/temporal/namespaced-registry';
import { UnknownCodecKeyError } from '../../../src/temporal/payload-codec';
import { OverloadedError } from '../../../src/temporal/publish-gate';

/** An error shaped as @grpc/grpc-js rejects a call with, wrapped the way the Temporal client throws it. */
const temporalError = (code: number) =>
  new ServiceError('SignalWithStartWorkflowExecution failed', { cause: Object.assign(new Error(`${code}`), { code, details: 'context canceled', metadata: {} }) });

async function answer(err: Error): Promise<{ status: number; retryAfter: unknown; body: unknown }> {
  const app = Fastify();
  registerErrorHandler(app);
  app.get('/', () => Promise.reject(err));
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const res = await fetch(url);
  const body: unknown = await res.json();
  await app.close();
  return { status: res.status, retryAfter: res.headers.get('retry-after') ?? undefined, body };
}

test.each([
  [1, 'CANCELLED'],
  [2, 'UNKNOWN'],
  [4, 'DEADLINE_EXCEEDED'],
  [8, 'RESOURCE_EXHAUSTED'],
  [9, 'FAILED_PRECONDITION'],
  [10, 'ABORTED'],
  [13, 'INTERNAL'],
  [14, 'UNAVAILABLE'],
])('a Temporal call failing with %i (%s) answers 503 with Retry-After', async (code) => {
  expect(await answer(temporalError(code))).toEqual({ status: 503, retryAfter: '1', body: { error: 'temporal unavailable, retry later' } });
});

test('a Temporal call rejected as INVALID_ARGUMENT is our fault: 500, no details', async () => {
  expect(await answer(temporalError(3))).toEqual({ status: 500, retryAfter: undefined, body: { error: 'internal error' } });
});

test('typed errors keep their status and body', async () => {
  expect(await answer(noJobAvailable())).toEqual({ status: 404, retryAfter: undefined, body: { msg: 'no job available' } });
});

test.each([
  ['a quota refusal', new QuotaExceededError('namespace n is at its quota of 2 tokens'), 400, undefined, { error: 'namespace n is at its quota of 2 tokens' }],
  ['a rate limit', tooManyRequests('consume reach the limit rate'), 429, undefined, { msg: 'consume reach the limit rate' }],
  ['tokens not read yet', new TokensNotLoadedError(), 503, '1', { error: 'tokens not loaded yet, retry later' }],
  ['an overloaded Temporal', new OverloadedError(12, 5), 503, '5', { error: 'temporal is behind (workflow tasks wait 12 s for a worker), retry later' }],
  ['a payload under a dropped key', new UnknownCodecKeyError('k1', 'job J'), 500, undefined, { error: 'job J is encrypted with key "k1", which is not among FERRY_CODEC_KEYS', code: 'CODEC_KEY_UNKNOWN' }],
  ['one wrapped as a cause', new Error('decode failed', { cause: new UnknownCodecKeyError('k1') }), 500, undefined, { error: 'a payload is encrypted with key "k1", which is not among FERRY_CODEC_KEYS', code: 'CODEC_KEY_UNKNOWN' }],
])('%s answers by its code: %#', async (_what, err, status, retryAfter, body) => {
  expect(await answer(err)).toEqual({ status, retryAfter, body });
});
