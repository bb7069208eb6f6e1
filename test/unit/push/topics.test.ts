import { matchesTopic } from '../../../src/push/topics';

describe('matchesTopic (AMQP topic patterns)', () => {
  test.each([
    ['device.created', 'device.created', true],
    ['device.created', 'device.deleted', false],
    ['device.*', 'device.created', true],
    ['device.*', 'device', false],
    ['device.*', 'device.created.v2', false],
    ['*.created', 'user.created', true],
    ['*', 'user', true],
    ['*', 'user.created', false],
    ['billing.#', 'billing', true],
    ['billing.#', 'billing.invoice', true],
    ['billing.#', 'billing.invoice.paid', true],
    ['billing.#', 'billingx.invoice', false],
    ['#', 'anything.at.all', true],
    ['#', 'x', true],
    ['#.paid', 'billing.invoice.paid', true],
    ['#.paid', 'paid', true],
    ['#.paid', 'billing.paid.late', false],
    ['a.#.z', 'a.z', true],
    ['a.#.z', 'a.b.c.z', true],
    ['a.#.z', 'a.b.c', false],
    ['a.*.#', 'a', false],
    ['a.*.#', 'a.b', true],
    ['a.#.#.b', 'a.b', true],
  ])('%s vs %s: %s', (pattern, type, expected) => {
    expect(matchesTopic(pattern, type)).toBe(expected);
  });
});
