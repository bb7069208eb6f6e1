import type { FastifyBodyParser, FastifyRequest } from 'fastify';
import { badRequest } from './errors';

/**
 * How deeply a JSON body may nest. Deeper documents overflowed the stack later (JSON.stringify,
 * validation) and answered 500; no event, endpoint or schema needs more.
 */
export const MAX_JSON_DEPTH = 64;

/** Whether `value` nests arrays and objects deeper than `max` (without recursion, so any depth is safe). */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth >= max) return true;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  return false;
}

type JsonParser = (request: FastifyRequest, body: string, done: (err: Error | null, value?: unknown) => void) => void;

/** Wraps Fastify's JSON parser (prototype-poisoning safe, and of the callback kind) with the depth bound. */
export const boundedJson =
  (defaultParser: FastifyBodyParser<string>, maxDepth = MAX_JSON_DEPTH): JsonParser =>
  (request, body, done) =>
    (defaultParser as JsonParser)(request, body, (err, value) => {
      if (err) return done(err);
      if (nestsDeeperThan(value, maxDepth)) return done(badRequest(`JSON nested deeper than ${maxDepth} levels`));
      done(null, value);
    });
