import { ConfigError, indexLimits, loadConfig } from '../src/config';
import { DEFAULT_INDEX_LIMITS } from '../src/workflows/ordered-index';

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
