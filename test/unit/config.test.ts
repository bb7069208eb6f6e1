import { ConfigError, indexLimits, loadConfig } from '../../src/config';
import { DEFAULT_INDEX_LIMITS } from '../../src/workflows/ordered-index.messages';

describe('index limits', () => {
  test('default to what OrderedIndex uses without configuration', () => {
    expect(indexLimits(loadConfig({}))).toEqual(DEFAULT_INDEX_LIMITS);
  });

  test('are read from FERRY_INDEX_*', () => {
    const config = loadConfig({
      FERRY_INDEX_MAX_IN_MEMORY: '500',
      FERRY_INDEX_KEEP_HEAD: '200',
      FERRY_INDEX_RANGE_SIZE: '150',
      FERRY_INDEX_REFILL_BELOW: '150',
      FERRY_INDEX_SETTLE_MS: '0',
    });
    expect(indexLimits(config)).toEqual({ ...DEFAULT_INDEX_LIMITS, maxInMemory: 500, keepHead: 200, rangeSize: 150, refillBelow: 150, settleMs: 0 });
  });

  test.each([
    [{ FERRY_INDEX_KEEP_HEAD: '5000' }, 'FERRY_INDEX_KEEP_HEAD: must be less than FERRY_INDEX_MAX_IN_MEMORY'],
    [{ FERRY_INDEX_REFILL_BELOW: '2001' }, 'FERRY_INDEX_REFILL_BELOW: must not exceed FERRY_INDEX_KEEP_HEAD'],
    [{ FERRY_INDEX_RANGE_SIZE: '0' }, 'FERRY_INDEX_RANGE_SIZE: '],
    [{ FERRY_INDEX_SETTLE_MS: 'soon' }, 'FERRY_INDEX_SETTLE_MS: '],
  ])('refuse %j at start-up, naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });
});

describe('exposure', () => {
  test('admin, Temporal, Web UI and worker metrics listen on loopback whatever FERRY_HOST says', () => {
    const config = loadConfig({ FERRY_HOST: '0.0.0.0', FERRY_ADMIN_ACCOUNTS: '' });
    expect(config.FERRY_HOST).toBe('0.0.0.0');
    expect([config.FERRY_ADMIN_HOST, config.FERRY_TEMPORAL_HOST, config.FERRY_UI_HOST, config.FERRY_WORKER_METRICS_HOST]).toEqual([
      '127.0.0.1',
      '127.0.0.1',
      '127.0.0.1',
      '127.0.0.1',
    ]);
  });

  test.each([
    [{ FERRY_ADMIN_HOST: '0.0.0.0' }, 'FERRY_ADMIN_HOST: 0.0.0.0 is not a loopback address: set FERRY_ADMIN_ACCOUNTS'],
    [{ FERRY_ADMIN_HOST: '::' }, 'FERRY_ADMIN_HOST: :: is not a loopback address'],
    [{ FERRY_ADMIN_HOST: '10.1.2.3', FERRY_ADMIN_ACCOUNTS: 'ops:' }, 'FERRY_ADMIN_ACCOUNTS: the password of "ops" is empty'],
    [{ FERRY_ADMIN_ACCOUNTS: 'ops:s3cret,dev:' }, 'the password of "dev" is empty'],
  ])('refuse %j at start-up', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  test('a non-loopback admin API starts with accounts; loopback names need none', () => {
    expect(loadConfig({ FERRY_ADMIN_HOST: '0.0.0.0', FERRY_ADMIN_ACCOUNTS: 'ops:s3cret' }).FERRY_ADMIN_ACCOUNTS).toEqual({ ops: 's3cret' });
    for (const host of ['127.0.0.1', '127.0.0.2', '::1', 'localhost']) expect(loadConfig({ FERRY_ADMIN_HOST: host }).FERRY_ADMIN_HOST).toBe(host);
  });
});
