import { createHmac, randomBytes } from 'node:crypto';

/** A signing secret in Standard Webhooks form: `whsec_` + base64 of the key bytes. */
export type WebhookSecret = `whsec_${string}`;

/** A secret of an endpoint; during a rotation the old one keeps signing until `expiresAt`. */
export interface SigningKey {
  secret: WebhookSecret;
  /** Ms since the epoch; absent for the current secret. */
  expiresAt?: number;
}

const PREFIX = 'whsec_';

export function createSecret(): WebhookSecret {
  return `${PREFIX}${randomBytes(32).toString('base64')}`;
}

export function isWebhookSecret(value: string): value is WebhookSecret {
  if (!value.startsWith(PREFIX)) return false;
  const key = Buffer.from(value.slice(PREFIX.length), 'base64');
  return key.length >= 24 && key.length <= 64;
}

/** The keys that sign at `now`: the current one and any old one still inside its overlap window. */
export function signingKeys(keys: readonly SigningKey[], now: number): SigningKey[] {
  return keys.filter((k) => k.expiresAt === undefined || k.expiresAt > now);
}

/**
 * The three Standard Webhooks headers for one delivery attempt. `webhook-id` must be the same on
 * every retry of a message so receivers can de-duplicate; each key adds a `v1,<base64 HMAC-SHA256
 * of "id.timestamp.body">` signature, so receivers holding either key verify during a rotation.
 */
export function signatureHeaders(
  message: { id: string; timestamp: Date; body: string | Buffer },
  keys: readonly SigningKey[],
): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  const timestamp = Math.floor(message.timestamp.getTime() / 1000).toString();
  const signatures = keys.map(({ secret }) => {
    const hmac = createHmac('sha256', Buffer.from(secret.slice(PREFIX.length), 'base64'));
    hmac.update(`${message.id}.${timestamp}.`);
    hmac.update(message.body);
    return `v1,${hmac.digest('base64')}`;
  });
  return { 'webhook-id': message.id, 'webhook-timestamp': timestamp, 'webhook-signature': signatures.join(' ') };
}
