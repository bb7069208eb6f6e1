import nacl from 'tweetnacl';

/**
 * `v1a` signatures, checked with tweetnacl (an independent Ed25519 implementation) against the
 * public key a receiver is given, exactly as the Standard Webhooks spec describes verification.
 */
export function verifiesV1a(publicKey: string, headers: Record<string, string | string[] | undefined>, body: string): boolean {
  const content = Buffer.from(`${String(headers['webhook-id'])}.${String(headers['webhook-timestamp'])}.${body}`);
  const key = Buffer.from(publicKey.replace(/^whpk_/, ''), 'base64');
  return String(headers['webhook-signature'])
    .split(' ')
    .filter((s) => s.startsWith('v1a,'))
    .some((s) => nacl.sign.detached.verify(content, Buffer.from(s.slice(4), 'base64'), key));
}

