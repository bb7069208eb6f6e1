import type { DataCondition } from '../workflows/endpoints.messages';

/** The value at a dot-separated path of `data` (a leading `data.` is allowed), or undefined. */
function valueAt(data: unknown, path: string): unknown {
  let value = data;
  for (const key of path.replace(/^data\./, '').split('.')) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, key)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Orders two numbers or two strings; anything else does not compare. */
function compare(a: unknown, b: unknown): number | undefined {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  return undefined;
}

function holds({ path, op, value }: DataCondition, data: unknown): boolean {
  const actual = valueAt(data, path);
  if (op === 'exists') return (actual !== undefined) === (value !== false);
  if (actual === undefined) return false;
  if (op === 'eq') return same(actual, value);
  if (op === 'ne') return !same(actual, value);
  if (op === 'in') return Array.isArray(value) && value.some((v) => same(actual, v));
  const order = compare(actual, value);
  if (order === undefined) return false;
  return op === 'gt' ? order > 0 : op === 'gte' ? order >= 0 : op === 'lt' ? order < 0 : order <= 0;
}

/** Whether every condition holds on the event's data; no conditions: always. */
export const matchesData = (conditions: readonly DataCondition[], data: unknown): boolean => conditions.every((c) => holds(c, data));
