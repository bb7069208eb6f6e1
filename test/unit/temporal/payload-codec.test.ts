import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import type { Payload } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { ConfigError, loadConfig } from '../../../src/config';
import {
  codecKeyFile,
  ENCRYPTED_ENCODING,
  FerryPayloadCodec,
  loadOrCreateKeyFile,
  newCodecKey,
  parseCodecKeys,
  UnknownCodecKeyError,
} from '../../../src/temporal/payload-codec';
import { payloadKeyIds } from '../../../src/temporal/codec-key-usage';

const keyA = parseCodecKeys(newCodecKey().replace(/^[^:]+/, 'a'));
const keyB = parseCodecKeys(newCodecKey().replace(/^[^:]+/, 'b'));
const payloadOf = (value: unknown): Payload => defaultPayloadConverter.toPayload(value);
const valueOf = (payload: Payload): unknown => defaultPayloadConverter.fromPayload(payload);
const metadataKeys = (payload: Payload) => Object.keys(payload.metadata ?? {}).sort();

describe('FerryPayloadCodec', () => {
  test('small and large payloads come back exact; only the encoding, key id and compression flag are readable', async () => {
    const codec = new FerryPayloadCodec(keyA);
    const small = { body: 'secret-marker-small' };
    const large = { body: `secret-marker-large ${'x'.repeat(100_000)}` };
    const [sealedSmall, sealedLarge] = await codec.encode([payloadOf(small), payloadOf(large)]);
    for (const sealed of [sealedSmall!, sealedLarge!]) {
      expect(Buffer.from(sealed.metadata!.encoding!).toString()).toBe(ENCRYPTED_ENCODING);
      expect(Buffer.from(sealed.metadata!['encryption-key-id']!).toString()).toBe('a');
      expect(Buffer.from(sealed.data!).toString('latin1')).not.toContain('secret-marker');
      expect(Buffer.from(sealed.data!).toString('latin1')).not.toContain('json/plain');
    }
    expect(metadataKeys(sealedSmall!)).toEqual(['encoding', 'encryption-key-id']);
    expect(metadataKeys(sealedLarge!)).toEqual(['encoding', 'encryption-key-id', 'ferry-compression']);
    // Deflated before it was sealed: 100 KB of one letter takes a few hundred bytes.
    expect(sealedLarge!.data!.length).toBeLessThan(2_000);
    const [openedSmall, openedLarge] = await codec.decode([sealedSmall!, sealedLarge!]);
    expect(valueOf(openedSmall!)).toEqual(small);
    expect(valueOf(openedLarge!)).toEqual(large);
  });

  test('a payload that deflate cannot shrink is stored uncompressed', async () => {
    const codec = new FerryPayloadCodec(keyA);
    const random = { data: '' };
    const noise = { ...payloadOf(random), data: randomBytes(64 * 1024) };
    const [sealed] = await codec.encode([noise]);
    expect(metadataKeys(sealed!)).toEqual(['encoding', 'encryption-key-id']);
    const [opened] = await codec.decode([sealed!]);
    expect(Buffer.from(opened!.data!)).toEqual(Buffer.from(noise.data));
  });

  test('a job spec with a large random body is not deflated; one with a large text body or an event of JSON is', async () => {
    const codec = new FerryPayloadCodec(keyA);
    const spec = (body: Buffer) => payloadOf({ namespace: 'n', queue: 'q', id: '01J', body: body.toString('base64'), ttl: 60, tries: 3 });
    const orders = Array.from({ length: 600 }, (_, i) => ({ order: i, sku: `SKU-${i % 37}`, quantity: i % 5, currency: 'EUR' }));
    const text = Buffer.from(JSON.stringify(orders));
    const randomSpec = spec(randomBytes(64 * 1024));
    const [random, textual, event] = await codec.encode([randomSpec, spec(text), payloadOf({ type: 'order.created', data: orders })]);
    expect(metadataKeys(random!)).toEqual(['encoding', 'encryption-key-id']);
    expect(metadataKeys(textual!)).toContain('ferry-compression');
    expect(metadataKeys(event!)).toContain('ferry-compression');
    expect(event!.data!.length).toBeLessThan(text.length / 4);
    const [opened, openedText] = await codec.decode([random!, textual!]);
    expect(valueOf(opened!)).toEqual(valueOf(randomSpec));
    expect(Buffer.from((valueOf(openedText!) as { body: string }).body, 'base64').equals(text)).toBe(true);
  });

  test('counts the payloads it handled and the time it took, by direction', async () => {
    const codec = new FerryPayloadCodec(keyA);
    const sealed = await codec.encode([payloadOf({ body: 'one' }), payloadOf({ body: 'x'.repeat(10_000) })]);
    await codec.decode(sealed.slice(0, 1));
    expect(codec.work.encode.payloads).toBe(2);
    expect(codec.work.decode.payloads).toBe(1);
    expect(codec.work.encode.ms).toBeGreaterThan(0);
    expect(codec.work.decode.ms).toBeGreaterThan(0);
  });

  test('the same payload twice seals to different bytes (a fresh IV each time)', async () => {
    const codec = new FerryPayloadCodec(keyA);
    const [one, two] = await codec.encode([payloadOf('same'), payloadOf('same')]);
    expect(Buffer.from(one!.data!).equals(Buffer.from(two!.data!))).toBe(false);
  });

  test('plain payloads, written before the codec, are read as they are', async () => {
    const plain = payloadOf({ old: true });
    expect(await new FerryPayloadCodec(keyA).decode([plain])).toEqual([plain]);
  });

  test('rotation: B first still reads A; once A is dropped, an A payload fails with a typed error', async () => {
    const [underA] = await new FerryPayloadCodec(keyA).encode([payloadOf('written under A')]);
    const rotated = new FerryPayloadCodec([...keyB, ...keyA]);
    expect(valueOf((await rotated.decode([underA!]))[0]!)).toBe('written under A');
    const [underB] = await rotated.encode([payloadOf('new')]);
    expect(Buffer.from(underB!.metadata!['encryption-key-id']!).toString()).toBe('b');

    const dropped = new FerryPayloadCodec(keyB);
    const failure = await dropped.decode([underA!]).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(UnknownCodecKeyError);
    expect(failure).toMatchObject({ code: 'CODEC_KEY_UNKNOWN', keyId: 'a' });
  });

  test('a payload altered at rest fails authentication instead of decoding to garbage', async () => {
    const codec = new FerryPayloadCodec(keyA);
    const [sealed] = await codec.encode([payloadOf('intact')]);
    const data = Buffer.from(sealed!.data!);
    data[20] = data[20]! ^ 1;
    await expect(codec.decode([{ ...sealed!, data }])).rejects.toThrow(/authenticate/);
  });
});

describe('keys', () => {
  test('FERRY_CODEC_KEYS takes id:base64 pairs, the first one encrypting', () => {
    const a = newCodecKey();
    const b = newCodecKey().replace(/^[^:]+/, 'other');
    expect(loadConfig({ FERRY_CODEC_KEYS: `${a},${b}` }).FERRY_CODEC_KEYS!.map((k) => k.id)).toEqual([a.split(':')[0], 'other']);
    expect(loadConfig({}).FERRY_CODEC_KEYS).toBeUndefined();
  });

  test.each([
    ['no id', 'nokey', /key 1: expected <id>:<base64 key>/],
    ['a 16-byte key', `a:${Buffer.alloc(16).toString('base64')}`, /key "a": expected the base64 of 32 bytes/],
    ['no base64', 'a:not base64!', /key "a": expected the base64 of 32 bytes/],
    ['one id twice', `a:${Buffer.alloc(32).toString('base64')},a:${Buffer.alloc(32, 1).toString('base64')}`, /key "a" is given twice/],
  ])('a malformed FERRY_CODEC_KEYS (%s) stops start-up with a message that shows no key', (_label, value, message) => {
    expect(() => loadConfig({ FERRY_CODEC_KEYS: value })).toThrow(ConfigError);
    expect(() => loadConfig({ FERRY_CODEC_KEYS: value })).toThrow(message);
    const key = value.split(':')[1]?.split(',')[0];
    if (key && key.length > 8) {
      try {
        loadConfig({ FERRY_CODEC_KEYS: value });
      } catch (err) {
        expect((err as Error).message).not.toContain(key);
      }
    }
  });

  test('without FERRY_CODEC_KEYS the data folder gets a key file, mode 0600, used from then on', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ferry-codec-'));
    try {
      const first = loadOrCreateKeyFile(dir);
      expect(statSync(codecKeyFile(dir)).mode & 0o777).toBe(0o600);
      expect(first).toHaveLength(1);
      expect(first[0]!.key).toHaveLength(32);
      const again = loadOrCreateKeyFile(dir);
      expect(again[0]!.id).toBe(first[0]!.id);
      expect(again[0]!.key.equals(first[0]!.key)).toBe(true);
      expect(readFileSync(codecKeyFile(dir), 'utf8').trim()).toBe(`${first[0]!.id}:${first[0]!.key.toString('base64')}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('payloadKeyIds', () => {
  test('names the key of every encrypted payload in a history and null for one in clear, skipping headers and search attributes', async () => {
    const underA = (await new FerryPayloadCodec(keyA).encode([payloadOf('a')]))[0]!;
    const underB = (await new FerryPayloadCodec(keyB).encode([payloadOf('b')]))[0]!;
    const history: temporal.api.history.v1.IHistory & { events: temporal.api.history.v1.IHistoryEvent[] } = {
      events: [
        {
          workflowExecutionStartedEventAttributes: {
            input: { payloads: [underA] },
            header: { fields: { tracing: payloadOf('header in clear') } },
            searchAttributes: { indexedFields: { FerryQueue: payloadOf('q') } },
          },
        },
        { workflowExecutionSignaledEventAttributes: { input: { payloads: [underB] } } },
      ],
    };
    expect([...payloadKeyIds(history)].sort()).toEqual(['a', 'b']);
    history.events.push({ workflowExecutionSignaledEventAttributes: { input: { payloads: [payloadOf('from before the codec')] } } });
    expect(payloadKeyIds(history)).toEqual(new Set(['a', 'b', null]));
  });
});
