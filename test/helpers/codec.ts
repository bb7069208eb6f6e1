import { codecDataConverter, parseCodecKeys } from '../../src/temporal/payload-codec';

/** The payload codec key of every test: the suites' clients, workers and child processes share it. */
export const TEST_CODEC_KEYS = `test:${Buffer.alloc(32, 7).toString('base64')}`;

/** What every test's Temporal client and worker encode and decode with, as Ferry's processes do. */
export const testDataConverter = codecDataConverter(parseCodecKeys(TEST_CODEC_KEYS));
