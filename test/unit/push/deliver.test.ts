import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { Agent } from 'undici';
import type { SendResult, WebhookRequest } from '../../../src/push/send';
import { RESPONSE_EXCERPT_BYTES, retryAfterMs, sendWebhook } from '../../../src/push/send';
import { DeliveryFailure } from '../../../src/workflows/push.messages';
import { createSecret } from '../../../src/push/signing';
import { AddressPolicy } from '../../../src/push/ssrf';

// Real local receivers; the activity runs in the SDK's activity context (for its attempt number).
type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;
let handler: Handler = (_req, _body, res) => res.end();
let hits: { headers: IncomingMessage['headers']; body: string; url: string }[] = [];
let server: ReturnType<typeof createServer>;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      hits.push({ headers: req.headers, body, url: req.url ?? '' });
      handler(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await dispatcher.close();
});

beforeEach(() => {
  hits = [];
});

const dispatcher = new Agent({ connect: new AddressPolicy(['127.0.0.1/32']).connector() });
const secret = createSecret();
const delivery = (overrides: Partial<WebhookRequest> = {}): WebhookRequest => ({
  url: `${base}/hook`,
  messageId: 'msg_1',
  body: JSON.stringify({ type: 'invoice.paid', data: { id: 7 } }),
  headers: { 'x-custom': 'yes' },
  keys: [{ secret }],
  timeoutMs: 2000,
  ...overrides,
});
const run = (request: WebhookRequest, attempt = 1) => sendWebhook(dispatcher, request, attempt, 60_000);

/** An attempt that must have failed. */
async function failure(request: WebhookRequest): Promise<SendResult & { type: string; nonRetryable: boolean }> {
  const result = await run(request);
  if (!result.failureType) throw new Error(`expected a failure, got ${JSON.stringify(result.record)}`);
  return { ...result, type: result.failureType, nonRetryable: result.record.outcome === 'permanent' };
}
const recordOf = (f: SendResult) => f.record;

describe('sendWebhook', () => {
  test('2xx succeeds; the receiver verifies the Standard Webhooks signature and sees custom headers', async () => {
    handler = (_req, _body, res) => res.writeHead(204).end();
    const { record, failureType } = await run(delivery(), 3);
    expect(failureType).toBeUndefined();
    expect(record).toMatchObject({ attempt: 3, status: 204, outcome: 'success', responseExcerpt: '' });
    const [hit] = hits;
    expect(hit?.headers['x-custom']).toBe('yes');
    expect(hit?.headers['webhook-id']).toBe('msg_1');
    expect(new Webhook(secret).verify(hit!.body, hit!.headers as Record<string, string>)).toEqual({
      type: 'invoice.paid',
      data: { id: 7 },
    });
  });

  test.each([
    [500, DeliveryFailure.unavailable, false],
    [503, DeliveryFailure.unavailable, false],
    [408, DeliveryFailure.unavailable, false],
    [429, DeliveryFailure.unavailable, false],
    [400, DeliveryFailure.rejected, true],
    [404, DeliveryFailure.rejected, true],
    [410, DeliveryFailure.gone, true],
  ])('%i is %s, non-retryable: %s', async (status, type, nonRetryable) => {
    handler = (_req, _body, res) => res.writeHead(status).end(`status ${status}`);
    const f = await failure(delivery());
    expect([f.type, f.nonRetryable]).toEqual([type, nonRetryable]);
    expect(recordOf(f)).toMatchObject({ status, responseExcerpt: `status ${status}`, outcome: nonRetryable ? 'permanent' : 'retry' });
  });

  test('a redirect is a retryable failure and is not followed', async () => {
    handler = (req, _body, res) => (req.url === '/hook' ? res.writeHead(302, { location: '/elsewhere' }).end() : res.end('followed'));
    const f = await failure(delivery());
    expect([f.type, f.nonRetryable, recordOf(f).status]).toEqual([DeliveryFailure.unavailable, false, 302]);
    expect(hits.map((h) => h.url)).toEqual(['/hook']);
  });

  test('Retry-After (seconds or HTTP date) sets the next retry delay, within the cap', async () => {
    handler = (_req, _body, res) => res.writeHead(429, { 'retry-after': '7' }).end();
    expect((await failure(delivery())).retryAfterMs).toBe(7000);
    handler = (_req, _body, res) => res.writeHead(503, { 'retry-after': '3600' }).end();
    expect((await failure(delivery())).retryAfterMs).toBe(60_000);
    expect(retryAfterMs(new Date(Date.UTC(2026, 0, 1, 0, 0, 30)).toUTCString(), Date.UTC(2026, 0, 1))).toBe(30_000);
    expect(retryAfterMs('soon', 0)).toBeUndefined();
  });

  test('a slow receiver times out and is retried', async () => {
    handler = (_req, _body, res) => setTimeout(() => res.end('late'), 1500);
    const f = await failure(delivery({ timeoutMs: 300 }));
    expect([f.type, f.nonRetryable]).toEqual([DeliveryFailure.unavailable, false]);
    expect(recordOf(f).durationMs).toBeLessThan(1400);
  });

  test('connection refused is retried', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const f = await failure(delivery({ url: `http://127.0.0.1:${port}/` }));
    expect([f.type, f.nonRetryable]).toEqual([DeliveryFailure.unavailable, false]);
    expect(recordOf(f).error).toMatch(/ECONNREFUSED/);
  });

  test('a forbidden address fails for good without a request', async () => {
    const f = await failure(delivery({ url: 'http://10.0.0.1/hook' }));
    expect([f.type, f.nonRetryable]).toEqual([DeliveryFailure.forbidden, true]);
  });

  test('the response excerpt is cut at 4 KiB', async () => {
    handler = (_req, _body, res) => res.writeHead(500).end('x'.repeat(100_000));
    expect(recordOf(await failure(delivery())).responseExcerpt).toHaveLength(RESPONSE_EXCERPT_BYTES);
  });
});
