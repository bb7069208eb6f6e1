import type { KeyObject } from 'node:crypto';
import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';

/**
 * A signing secret in Standard Webhooks form: `whsec_` + base64 of an HMAC key (signatures `v1`),
 * or `whsk_` + base64 of an Ed25519 private key seed (signatures `v1a`, verified with the public
 * key `whpk_` + base64 of the raw 32-byte Ed25519 public key).
 */
export type WebhookSecret = `whsec_${string}` | `whsk_${string}`;
export type SignatureScheme = 'v1' | 'v1a';

/** A secret of an endpoint; during a rotation the old one keeps signing until `expiresAt`. */
export interface SigningKey {
  secret: WebhookSecret;
  /** Ms since the epoch; absent for the current secret. */
  expiresAt?: number;
}

const HMAC_PREFIX = 'whsec_';
const PRIVATE_PREFIX = 'whsk_';
const PUBLIC_PREFIX = 'whpk_';
/** PKCS#8 wrapping of a raw 32-byte Ed25519 seed (RFC 8410). */
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

export function createSecret(scheme: SignatureScheme = 'v1'): WebhookSecret {
  if (scheme === 'v1') return `${HMAC_PREFIX}${randomBytes(32).toString('base64')}`;
  const seed = Buffer.from(generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }).d!, 'base64url');
  return `${PRIVATE_PREFIX}${seed.toString('base64')}`;
}

export const schemeOf = (secret: WebhookSecret): SignatureScheme => (secret.startsWith(PRIVATE_PREFIX) ? 'v1a' : 'v1');

const keyBytes = (secret: string, prefix: string) => Buffer.from(secret.slice(prefix.length), 'base64');

/** Accepts an HMAC key of 24 to 64 bytes, or an Ed25519 seed (32 bytes; 64 = seed and public key). */
export function isWebhookSecret(value: string): value is WebhookSecret {
  if (value.startsWith(HMAC_PREFIX)) {
    const key = keyBytes(value, HMAC_PREFIX);
    return key.length >= 24 && key.length <= 64;
  }
  if (value.startsWith(PRIVATE_PREFIX)) return [32, 64].includes(keyBytes(value, PRIVATE_PREFIX).length);
  return false;
}

const ed25519Key = (secret: WebhookSecret): KeyObject =>
  createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, keyBytes(secret, PRIVATE_PREFIX).subarray(0, 32)]), format: 'der', type: 'pkcs8' });

/** What a receiver verifies `v1a` signatures with (not a secret: it may be shown any time). */
export function publicKeyOf(secret: WebhookSecret): `whpk_${string}` | null {
  if (schemeOf(secret) !== 'v1a') return null;
  const raw = Buffer.from(createPublicKey(ed25519Key(secret)).export({ format: 'jwk' }).x!, 'base64url');
  return `${PUBLIC_PREFIX}${raw.toString('base64')}`;
}

/** The keys that sign at `now`: the current one and any old one still inside its overlap window. */
export function signingKeys(keys: readonly SigningKey[], now: number): SigningKey[] {
  return keys.filter((k) => k.expiresAt === undefined || k.expiresAt > now);
}

/**
 * The three Standard Webhooks headers for one delivery attempt. `webhook-id` must be the same on
 * every retry of a message so receivers can de-duplicate; each key adds a signature of
 * "id.timestamp.body" (`v1,<base64 HMAC-SHA256>` or `v1a,<base64 Ed25519>`), so receivers holding
 * either key verify during a rotation.
 */
export function signatureHeaders(
  message: { id: string; timestamp: Date; body: string | Buffer },
  keys: readonly SigningKey[],
): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  const timestamp = Math.floor(message.timestamp.getTime() / 1000).toString();
  const signatures = keys.map(({ secret }) => {
    if (schemeOf(secret) === 'v1a') {
      const content = Buffer.concat([Buffer.from(`${message.id}.${timestamp}.`), Buffer.from(message.body)]);
      return `v1a,${sign(null, content, ed25519Key(secret)).toString('base64')}`;
    }
    const hmac = createHmac('sha256', keyBytes(secret, HMAC_PREFIX));
    hmac.update(`${message.id}.${timestamp}.`);
    hmac.update(message.body);
    return `v1,${hmac.digest('base64')}`;
  });
  return { 'webhook-id': message.id, 'webhook-timestamp': timestamp, 'webhook-signature': signatures.join(' ') };
}
