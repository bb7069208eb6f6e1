import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { DataConverter, Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { ErrorCode, FerryError } from '../errors';

/** One AES-256 key and the id written beside every payload it encrypts. */
export interface CodecKey {
  id: string;
  key: Buffer;
}

/** The `encoding` of a payload this codec wrote; anything else is read as it is (data from before the codec). */
export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const COMPRESSION = 'ferry-compression';
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Below this, deflate saves less than it costs (and short JSON hardly shrinks). */
const COMPRESS_ABOVE_BYTES = 1024;
/** zlib's level 1: as small as level 6 on job and event payloads, and 3–13% less CPU per payload. */
const DEFLATE_LEVEL = 1;
/**
 * A large payload is deflated only when a 2 KiB sample from its middle shrinks below this. Base64
 * of random or already compressed bytes (a job body is base64 in its JSON) deflates to ~0.76 of its
 * size for 1.7 CPU-ms per 64 KiB, and inflating it back costs as much again; JSON shrinks to 0.1–0.4.
 */
const SAMPLE_BYTES = 2048;
const DEFLATE_WHEN_SAMPLE_BELOW = 0.7;

/** An encrypted payload whose key id is none of the configured keys: never returned as garbage. */
export class UnknownCodecKeyError extends FerryError {
  override readonly name = 'UnknownCodecKeyError';
  constructor(
    readonly keyId: string,
    what = 'a payload',
  ) {
    super(ErrorCode.CodecKeyUnknown, `${what} is encrypted with key "${keyId}", which is not among FERRY_CODEC_KEYS`);
  }
}

/** Payloads a codec handled in one direction, and the milliseconds it spent on them. */
export interface CodecWork {
  payloads: number;
  ms: number;
}

const utf8 = (value: string) => Buffer.from(value, 'utf8');
const text = (value: Uint8Array | null | undefined) => (value ? Buffer.from(value).toString('utf8') : undefined);

/**
 * Encrypts every payload with AES-256-GCM under the first key, after deflating payloads above
 * 1 KiB that a sample shows will shrink; decrypts under whichever key a payload names, so keys rotate by putting the new one first.
 * The whole payload (its metadata too: the encoding names the data's type) is sealed; only the
 * key id and the compression flag stay readable.
 */
export class FerryPayloadCodec implements PayloadCodec {
  private readonly byId: Map<string, Buffer>;
  /** Since start-up; the work is synchronous, so its time is this thread's CPU time. */
  readonly work: Record<'encode' | 'decode', CodecWork> = { encode: { payloads: 0, ms: 0 }, decode: { payloads: 0, ms: 0 } };

  constructor(private readonly keys: CodecKey[]) {
    if (keys.length === 0) throw new Error('a payload codec needs at least one key');
    this.byId = new Map(keys.map((k) => [k.id, k.key]));
  }

  // Synchronous work, but a failure must reach the caller as a rejection, as the SDK expects.
  encode(payloads: Payload[]): Promise<Payload[]> {
    return new Promise((resolve) => resolve(this.timed(this.work.encode, payloads, (p) => this.seal(p))));
  }

  /** Whether payloads under this key id can be read. */
  has(keyId: string): boolean {
    return this.byId.has(keyId);
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    return new Promise((resolve) => resolve(this.timed(this.work.decode, payloads, (p) => this.open(p))));
  }

  private timed(work: CodecWork, payloads: Payload[], each: (payload: Payload) => Payload): Payload[] {
    const start = performance.now();
    try {
      return payloads.map(each);
    } finally {
      work.payloads += payloads.length;
      work.ms += performance.now() - start;
    }
  }

  private seal(payload: Payload): Payload {
    const { id, key } = this.keys[0]!;
    const plain = Buffer.from(temporal.api.common.v1.Payload.encode(payload).finish());
    const deflated = worthDeflating(plain) ? deflateRawSync(plain, { level: DEFLATE_LEVEL }) : undefined;
    const compressed = deflated !== undefined && deflated.length < plain.length;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const sealed = Buffer.concat([iv, cipher.update(compressed ? deflated : plain), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: { encoding: utf8(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8(id), ...(compressed ? { [COMPRESSION]: utf8('deflate-raw') } : {}) },
      data: sealed,
    };
  }

  private open(payload: Payload): Payload {
    if (text(payload.metadata?.encoding) !== ENCRYPTED_ENCODING) return payload;
    const id = text(payload.metadata?.[KEY_ID_METADATA]) ?? '';
    const key = this.byId.get(id);
    if (!key) throw new UnknownCodecKeyError(id);
    const data = Buffer.from(payload.data ?? []);
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    const opened = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    const plain = text(payload.metadata?.[COMPRESSION]) ? inflateRawSync(opened) : opened;
    return temporal.api.common.v1.Payload.decode(plain);
  }
}

function worthDeflating(plain: Buffer): boolean {
  if (plain.length <= COMPRESS_ABOVE_BYTES) return false;
  if (plain.length <= 2 * SAMPLE_BYTES) return true;
  const from = Math.floor((plain.length - SAMPLE_BYTES) / 2);
  const sample = plain.subarray(from, from + SAMPLE_BYTES);
  return deflateRawSync(sample, { level: DEFLATE_LEVEL }).length < sample.length * DEFLATE_WHEN_SAMPLE_BELOW;
}

/** The data converter of every Temporal connection Ferry makes. */
export const codecDataConverter = (keys: CodecKey[]): DataConverter => ({
  payloadCodecs: [new FerryPayloadCodec(keys)],
  failureConverterPath: require.resolve('./failure-converter'),
});

/**
 * Parses `<id>:<base64 of 32 bytes>[,<id>:<key>…]`; throws an Error saying what is wrong, without
 * echoing any key.
 */
export function parseCodecKeys(value: string): CodecKey[] {
  const keys = value
    .split(/[,\n]/)
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry, i) => {
      const colon = entry.indexOf(':');
      const id = colon > 0 ? entry.slice(0, colon) : '';
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(id)) throw new Error(`key ${i + 1}: expected <id>:<base64 key>, the id 1-64 of A-Z a-z 0-9 . _ -`);
      const encoded = entry.slice(colon + 1);
      const key = Buffer.from(encoded, 'base64');
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded) || key.length !== 32) throw new Error(`key "${id}": expected the base64 of 32 bytes`);
      return { id, key };
    });
  if (keys.length === 0) throw new Error('no key given');
  const ids = keys.map((k) => k.id);
  const repeated = ids.find((id, i) => ids.indexOf(id) !== i);
  if (repeated) throw new Error(`key "${repeated}" is given twice`);
  return keys;
}

/** A new key in the form FERRY_CODEC_KEYS takes. */
export const newCodecKey = (): string => `k${Date.now().toString(36)}:${randomBytes(32).toString('base64')}`;

/** Where the embedded default keeps its key when FERRY_CODEC_KEYS is not set. */
export const codecKeyFile = (dataDir: string): string => join(dataDir, 'codec-keys');

/**
 * The key file in `dataDir`, created (mode 0600) on first use: several processes starting at once
 * on one data folder agree on the key the first one wrote.
 */
export function loadOrCreateKeyFile(dataDir: string): CodecKey[] {
  const path = codecKeyFile(dataDir);
  mkdirSync(dataDir, { recursive: true });
  try {
    writeFileSync(path, `${newCodecKey()}\n`, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  chmodSync(path, 0o600);
  try {
    return parseCodecKeys(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  }
}
