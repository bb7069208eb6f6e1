import { Webhook } from 'standardwebhooks';
import { createSecret, isWebhookSecret, signatureHeaders, signingKeys } from '../../src/push/signing';

// The `standardwebhooks` package is an independent implementation: what it accepts, any receiver's
// Standard Webhooks library accepts.
describe('Standard Webhooks signatures', () => {
  const body = JSON.stringify({ type: 'invoice.paid', data: { amount: 42, note: 'caf\u00e9' } });
  const message = { id: 'msg_2Nh5fGzPq', timestamp: new Date(), body };

  test('a receiver verifies the signature with the endpoint secret', () => {
    const secret = createSecret();
    expect(isWebhookSecret(secret)).toBe(true);
    const headers = signatureHeaders(message, [{ secret }]);
    expect(headers['webhook-id']).toBe(message.id);
    expect(headers['webhook-timestamp']).toBe(String(Math.floor(message.timestamp.getTime() / 1000)));
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
  });

  test('a different secret, a changed body or a changed id fails verification', () => {
    const headers = signatureHeaders(message, [{ secret: createSecret() }]);
    expect(() => new Webhook(createSecret()).verify(body, headers)).toThrow();
    const secret = createSecret();
    const signed = signatureHeaders(message, [{ secret }]);
    expect(() => new Webhook(secret).verify(`${body} `, signed)).toThrow();
    expect(() => new Webhook(secret).verify(body, { ...signed, 'webhook-id': 'msg_other' })).toThrow();
  });

  test('during a rotation both keys sign, so receivers holding either verify; after it only the new one', () => {
    const oldSecret = createSecret();
    const newSecret = createSecret();
    const now = Date.now();
    const keys = [{ secret: newSecret }, { secret: oldSecret, expiresAt: now + 60_000 }];

    const during = signatureHeaders(message, signingKeys(keys, now));
    expect(during['webhook-signature'].split(' ')).toHaveLength(2);
    expect(new Webhook(oldSecret).verify(body, during)).toEqual(JSON.parse(body));
    expect(new Webhook(newSecret).verify(body, during)).toEqual(JSON.parse(body));

    const after = signatureHeaders(message, signingKeys(keys, now + 60_000));
    expect(new Webhook(newSecret).verify(body, after)).toEqual(JSON.parse(body));
    expect(() => new Webhook(oldSecret).verify(body, after)).toThrow();
  });

  test('secrets must be whsec_ with 24 to 64 key bytes', () => {
    expect(isWebhookSecret('whsec_' + Buffer.alloc(16).toString('base64'))).toBe(false);
    expect(isWebhookSecret('secret_' + Buffer.alloc(32).toString('base64'))).toBe(false);
    expect(isWebhookSecret('whsec_' + Buffer.alloc(32).toString('base64'))).toBe(true);
  });
});
