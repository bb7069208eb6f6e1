import { backoffDelaysMs, retryDelaysMs } from '../../../src/push/retry-delays';

describe('retry delays', () => {
  test('a backoff grows by its factor from the initial delay and stops at the maximum', () => {
    expect(backoffDelaysMs({ initialDelayMs: 250, maxDelayMs: 1000, factor: 2, maxRetries: 4 })).toEqual([250, 500, 1000, 1000]);
    expect(backoffDelaysMs({ initialDelayMs: 100, maxDelayMs: 10_000, factor: 1.5, maxRetries: 3 })).toEqual([100, 150, 225]);
    expect(backoffDelaysMs({ initialDelayMs: 7, maxDelayMs: 7, factor: 1, maxRetries: 2 })).toEqual([7, 7]);
  });

  test('no retries is an empty schedule', () => {
    expect(backoffDelaysMs({ initialDelayMs: 1, maxDelayMs: 1, factor: 2, maxRetries: 0 })).toEqual([]);
  });

  test('an endpoint without a backoff retries after its schedule, in ms', () => {
    expect(retryDelaysMs({ retrySchedule: [10, 30, 90] })).toEqual([10_000, 30_000, 90_000]);
    expect(retryDelaysMs({ retrySchedule: [10], backoff: null })).toEqual([10_000]);
    expect(retryDelaysMs({ retrySchedule: [10], backoff: { initialDelayMs: 5, maxDelayMs: 5, factor: 1, maxRetries: 1 } })).toEqual([5]);
  });
});
