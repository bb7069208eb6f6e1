import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { EventSchemaError, EventSchemas, InvalidSchemaError, SCHEMA_LIMITS } from '../../../src/push/event-schemas';
import type { EventTypeDefinition } from '../../../src/workflows/endpoints.messages';

const typeOf = (schema: Record<string, unknown>, namespace = 'ns-a', updatedAt = 1): EventTypeDefinition => ({
  namespace,
  name: 'order.created',
  description: '',
  schema,
  createdAt: 0,
  updatedAt,
});

const refusal = (f: () => void): string => {
  try {
    f();
  } catch (err) {
    if (err instanceof InvalidSchemaError || err instanceof EventSchemaError) return err.message;
    throw err;
  }
  throw new Error('expected a refusal');
};

describe('the schema subset', () => {
  test('$async is refused at registration, and a stored $async schema is refused at publish without a promise', () => {
    const schemas = new EventSchemas();
    const asyncSchema = { $async: true, type: 'object', properties: { n: { type: 'number' } } };
    expect(refusal(() => schemas.check(asyncSchema))).toMatch(/\$async is not supported/);
    // A type registered before the subset existed: validation answers an error, never a rejected promise.
    expect(refusal(() => schemas.validate(typeOf(asyncSchema), { n: 'not a number' }))).toMatch(
      /^the schema of event type order\.created is not accepted .*\$async is not supported.*update or delete the type$/,
    );
  });

  test('patterns never backtrack: ^(a+)+$ against 31 and 200,000 characters answers at once', () => {
    const schemas = new EventSchemas();
    const type = typeOf({ type: 'object', properties: { name: { type: 'string', pattern: '^(a+)+$' } } });
    for (const length of [31, 200_000]) {
      const started = performance.now();
      expect(refusal(() => schemas.validate(type, { name: `${'a'.repeat(length)}!` }))).toMatch(/data\/name must match pattern/);
      // Backtracking took 11 s at 31 characters, ×1.6 per character more.
      expect(performance.now() - started).toBeLessThan(1000);
    }
    expect(() => schemas.validate(type, { name: 'aaaa' })).not.toThrow();
  });

  test('patterns with backreferences or lookarounds are refused, in pattern and patternProperties', () => {
    const schemas = new EventSchemas();
    expect(refusal(() => schemas.check({ type: 'string', pattern: '(a)\\1' }))).toMatch(/pattern at #\/pattern is not supported/);
    expect(refusal(() => schemas.check({ patternProperties: { '^(?=x)': {} } }))).toMatch(/pattern at #\/patternProperties is not supported/);
  });

  test('all patterns of one validation share a budget of matched characters', () => {
    const schemas = new EventSchemas();
    const branches = Array.from({ length: 20 }, () => ({ type: 'string', pattern: '^b' }));
    const long = 'a'.repeat(SCHEMA_LIMITS.maxPatternInput / 10);
    expect(refusal(() => schemas.validate(typeOf({ anyOf: branches }), long))).toMatch(/could not be validated: its patterns would match more than/);
    expect(() => schemas.validate(typeOf({ anyOf: [...branches, { type: 'string' }] }, 'ns-a', 2), 'b')).not.toThrow();
  });

  test('refs that expand exponentially, refer to themselves, or leave the schema are refused; nesting is bounded', () => {
    const schemas = new EventSchemas();
    const definitions: Record<string, unknown> = { d0: { type: 'string' } };
    for (let i = 1; i <= 12; i++) definitions[`d${i}`] = { anyOf: [{ $ref: `#/definitions/d${i - 1}` }, { $ref: `#/definitions/d${i - 1}` }] };
    expect(refusal(() => schemas.check({ definitions, $ref: '#/definitions/d12' }))).toMatch(/more than 1000 subschemas with every \$ref expanded/);
    expect(refusal(() => schemas.check({ definitions: { n: { items: { $ref: '#/definitions/n' } } }, $ref: '#/definitions/n' }))).toMatch(
      /recursive schemas are not supported/,
    );
    expect(refusal(() => schemas.check({ $ref: 'https://example.com/other' }))).toMatch(/must point into the same schema/);
    expect(refusal(() => schemas.check({ $ref: '#/definitions/missing' }))).toMatch(/points at nothing/);
    let deep: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < 40; i++) deep = { items: deep };
    expect(refusal(() => schemas.check(deep))).toMatch(/nested deeper than 32 levels/);
    // Within bounds, a DAG of refs works.
    const fine = { definitions: { id: { type: 'string', maxLength: 8 } }, properties: { a: { $ref: '#/definitions/id' }, b: { $ref: '#/definitions/id' } } };
    expect(() => schemas.check(fine)).not.toThrow();
    expect(refusal(() => schemas.validate(typeOf(fine), { a: 'x', b: 'too long for it' }))).toMatch(/data\/b must NOT have more than 8 characters/);
  });

  test('uniqueItems needs scalar items or a short array; $id only at the root; other $ keywords are refused', () => {
    const schemas = new EventSchemas();
    expect(refusal(() => schemas.check({ type: 'array', uniqueItems: true }))).toMatch(/uniqueItems at # needs items of a scalar type/);
    expect(() => schemas.check({ type: 'array', uniqueItems: true, items: { type: 'string' } })).not.toThrow();
    expect(() => schemas.check({ type: 'array', uniqueItems: true, maxItems: 100 })).not.toThrow();
    expect(() => schemas.check({ $id: 'https://example.com/order', type: 'object' })).not.toThrow();
    expect(refusal(() => schemas.check({ properties: { a: { $id: 'https://example.com/a' } } }))).toMatch(/\$id is not supported \(at #\/properties\/a\)/);
    expect(refusal(() => schemas.check({ $schema: 'https://json-schema.org/draft/2020-12/schema' }))).toMatch(/\$schema must be/);
    // A property may be named like a keyword: only keywords of schemas are checked.
    expect(() => schemas.check({ properties: { $async: { type: 'boolean' } } })).not.toThrow();
  });
});

describe('isolation and memory', () => {
  test("no namespace can refer to another's $id, and two namespaces may use the same $id", () => {
    const schemas = new EventSchemas();
    const secretive = { $id: 'https://tenant-a.example/order', type: 'object', properties: { creditCardNumber: { type: 'string' } }, required: ['creditCardNumber'] };
    schemas.validate(typeOf(secretive, 'ns-a'), { creditCardNumber: '4111' });
    expect(refusal(() => schemas.check({ $ref: 'https://tenant-a.example/order' }))).toMatch(/must point into the same schema/);
    const sameId = { $id: 'https://tenant-a.example/order', type: 'object', properties: { other: { type: 'number' } } };
    expect(refusal(() => schemas.validate(typeOf(sameId, 'ns-b'), { other: 'x' }))).not.toMatch(/creditCardNumber/);
  });

  test('a new version of a schema frees the old one: 150 versions of a 50 KiB schema keep the heap flat', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const schemas = new EventSchemas();
    const properties: Record<string, unknown> = {};
    for (let i = 0; i < 500; i++) properties[`field_${i}`] = { type: 'string', maxLength: 64 + (i % 7) };
    const version = (n: number) => typeOf({ type: 'object', properties: structuredClone(properties) }, 'ns-a', n);
    for (let n = 1; n <= 10; n++) schemas.validate(version(n), {});
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let n = 11; n <= 160; n++) schemas.validate(version(n), {});
    gc();
    const grownMb = (process.memoryUsage().heapUsed - before) / 2 ** 20;
    // One shared Ajv instance kept every compiled version (~1 MB each here).
    expect(grownMb).toBeLessThan(20);
  }, 120_000);
});
