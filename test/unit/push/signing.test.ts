import { Webhook } from 'standardwebhooks';
import nacl from 'tweetnacl';
import { createSecret, isWebhookSecret, publicKeyOf, signatureHeaders, signingKeys } from '../../../src/push/signing';
import { verifiesV1a } from '../../helpers/v1a';

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

describe('Standard Webhooks asymmetric (v1a, Ed25519) signatures', () => {
  const body = JSON.stringify({ type: 'invoice.paid', data: { amount: 42 } });
  const message = { id: 'msg_v1a', timestamp: new Date(), body };

  test('whsk_ secrets sign v1a; receivers verify with the whpk_ public key', () => {
    const secret = createSecret('v1a');
    expect(secret).toMatch(/^whsk_/);
    expect(isWebhookSecret(secret)).toBe(true);
    const publicKey = publicKeyOf(secret)!;
    expect(publicKey).toMatch(/^whpk_/);
    expect(Buffer.from(publicKey.slice(5), 'base64')).toHaveLength(32);
    const headers = signatureHeaders(message, [{ secret }]);
    expect(headers['webhook-signature']).toMatch(/^v1a,[A-Za-z0-9+/]{86}==$/);
    expect(verifiesV1a(publicKey, headers, body)).toBe(true);
    expect(verifiesV1a(publicKey, headers, `${body} `)).toBe(false);
    expect(verifiesV1a(publicKeyOf(createSecret('v1a'))!, headers, body)).toBe(false);
  });

  test('a key pair from another library signs the same way (whsk_ = base64 of the 32-byte seed)', () => {
    const pair = nacl.sign.keyPair();
    const secret = `whsk_${Buffer.from(pair.secretKey.subarray(0, 32)).toString('base64')}` as const;
    expect(publicKeyOf(secret)).toBe(`whpk_${Buffer.from(pair.publicKey).toString('base64')}`);
    // libsodium's 64-byte form (seed and public key) is accepted too.
    expect(isWebhookSecret(`whsk_${Buffer.from(pair.secretKey).toString('base64')}`)).toBe(true);
  });

  test('a rotation from v1 to v1a sends both, so either kind of receiver verifies', () => {
    const hmac = createSecret('v1');
    const ed = createSecret('v1a');
    const headers = signatureHeaders(message, [{ secret: ed }, { secret: hmac, expiresAt: Date.now() + 1000 }]);
    expect(headers['webhook-signature'].split(' ').map((s) => s.split(',')[0])).toEqual(['v1a', 'v1']);
    expect(new Webhook(hmac).verify(body, headers)).toEqual(JSON.parse(body));
    expect(verifiesV1a(publicKeyOf(ed)!, headers, body)).toBe(true);
  });
});
