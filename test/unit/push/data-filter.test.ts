import { matchesData } from '../../../src/push/data-filter';
import type { DataCondition } from '../../../src/workflows/endpoints.messages';

const data = { region: 'eu', amount: 42, tags: ['a'], customer: { tier: 'gold', since: '2024-01-01' }, flag: false, none: null };

describe('data filters', () => {
  test.each<[DataCondition[], boolean]>([
    [[], true],
    [[{ path: 'region', op: 'eq', value: 'eu' }], true],
    [[{ path: 'data.region', op: 'eq', value: 'eu' }], true],
    [[{ path: 'region', op: 'eq', value: 'us' }], false],
    [[{ path: 'region', op: 'ne', value: 'us' }], true],
    [[{ path: 'missing', op: 'ne', value: 'us' }], false],
    [[{ path: 'amount', op: 'gt', value: 41 }], true],
    [[{ path: 'amount', op: 'gt', value: 42 }], false],
    [[{ path: 'amount', op: 'gte', value: 42 }], true],
    [[{ path: 'amount', op: 'lt', value: 100 }], true],
    [[{ path: 'amount', op: 'lte', value: 41 }], false],
    [[{ path: 'amount', op: 'gt', value: '41' }], false],
    [[{ path: 'customer.since', op: 'gte', value: '2023-12-31' }], true],
    [[{ path: 'customer.tier', op: 'in', value: ['gold', 'platinum'] }], true],
    [[{ path: 'customer.tier', op: 'in', value: ['silver'] }], false],
    [[{ path: 'customer.tier', op: 'exists', value: true }], true],
    [[{ path: 'customer.missing', op: 'exists', value: false }], true],
    [[{ path: 'none', op: 'exists', value: true }], true],
    [[{ path: 'none', op: 'eq', value: null }], true],
    [[{ path: 'flag', op: 'eq', value: false }], true],
    [[{ path: 'tags.0', op: 'eq', value: 'a' }], true],
    [[{ path: 'region.length', op: 'exists', value: true }], false],
    [[{ path: 'constructor', op: 'exists', value: true }], false],
    [[{ path: 'region', op: 'eq', value: 'eu' }, { path: 'amount', op: 'gt', value: 100 }], false],
    [[{ path: 'region', op: 'eq', value: 'eu' }, { path: 'amount', op: 'gt', value: 10 }], true],
  ])('%j on the sample data: %s', (conditions, expected) => {
    expect(matchesData(conditions, data)).toBe(expected);
  });

  test('data that is not an object matches only conditions that allow absence', () => {
    expect(matchesData([{ path: 'x', op: 'exists', value: false }], 'text')).toBe(true);
    expect(matchesData([{ path: 'x', op: 'eq', value: 1 }], null)).toBe(false);
  });
});
