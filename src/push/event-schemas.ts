import Ajv from 'ajv';
import type { ValidateFunction } from 'ajv';
import { RE2JS } from 're2js';
import type { EventTypeDefinition } from '../workflows/endpoints.messages';
import { ErrorCode, FerryError } from '../errors';

/** A schema a user registered is not a usable JSON Schema, or not one Ferry accepts. */
export class InvalidSchemaError extends FerryError {
  override readonly name = 'InvalidSchemaError';
  constructor(message: string) {
    super(ErrorCode.InvalidSchema, message);
  }
}

/** An event's data does not match its registered type's schema. */
export class EventSchemaError extends FerryError {
  override readonly name = 'EventSchemaError';
  constructor(message: string) {
    super(ErrorCode.EventSchemaMismatch, message);
  }
}

/**
 * Bounds that keep a schema's compile and validation cost small whatever a tenant sends: its
 * nesting, and its size with every `$ref` expanded (validation visits the expanded tree, so a
 * short document whose definitions refer to each other twice per level would otherwise cost 2^n).
 */
export const SCHEMA_LIMITS = {
  maxBytes: 64 * 1024,
  maxDepth: 32,
  maxExpandedNodes: 1000,
  /** `uniqueItems` over objects compares every pair: allowed on scalar items or on short arrays. */
  maxUniqueItems: 100,
  /** Characters all patterns together may match while one event is validated (~60 ms of RE2). */
  maxPatternInput: 1_000_000,
  /** Compiled schemas kept per process; the least recently used is dropped beyond this. */
  maxCompiled: 1000,
};

const DRAFT_07 = /^https?:\/\/json-schema\.org\/draft-07\/schema#?$/;
const SCALAR_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'null']);
/** `$` keywords with a meaning Ferry supports; others (`$async`, `$id`, `$data`…) are refused. */
const DOLLAR_KEYWORDS = new Set(['$ref', '$schema', '$comment']);
const SCHEMA_KEYWORDS = ['additionalItems', 'contains', 'additionalProperties', 'propertyNames', 'if', 'then', 'else', 'not'];
const SCHEMA_LIST_KEYWORDS = ['allOf', 'anyOf', 'oneOf'];
const SCHEMA_MAP_KEYWORDS = ['properties', 'patternProperties', 'definitions'];

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Characters the validation of one event may still run through patterns (see `validate`). */
let patternBudget = Infinity;

/**
 * Patterns run on RE2's engine, which never backtracks: a match is linear in its input. Each
 * pattern of a schema may still run over every string of the data, so one validation has a budget
 * of characters matched in all.
 */
const linearRegExp = Object.assign(
  (pattern: string) => {
    const regex = RE2JS.compile(pattern);
    return {
      test(input: string): boolean {
        patternBudget -= input.length;
        if (patternBudget < 0) throw new Error(`its patterns would match more than ${SCHEMA_LIMITS.maxPatternInput} characters`);
        return regex.test(input);
      },
    };
  },
  { code: 'RE2JS.compile' },
);

function compilePattern(pattern: unknown, at: string): void {
  if (typeof pattern !== 'string') return;
  try {
    RE2JS.compile(pattern);
  } catch (err) {
    throw new InvalidSchemaError(`invalid schema: pattern at ${at} is not supported (${(err as Error).message}); backreferences and lookarounds are not available`);
  }
}

/** Resolves a local JSON pointer (`#/definitions/a`) against the schema document. */
function resolvePointer(root: unknown, ref: string, at: string): unknown {
  if (!ref.startsWith('#')) throw new InvalidSchemaError(`invalid schema: $ref at ${at} must point into the same schema (start with #)`);
  let target = root;
  const pointer = decodeURIComponent(ref.slice(1));
  if (pointer === '') return target;
  if (!pointer.startsWith('/')) throw new InvalidSchemaError(`invalid schema: $ref at ${at} must be a JSON pointer such as #/definitions/name`);
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const next: unknown = Array.isArray(target) || isObject(target) ? (target as Record<string, unknown>)[token] : undefined;
    if (next === undefined || !Object.hasOwn(target as object, token)) throw new InvalidSchemaError(`invalid schema: $ref at ${at} points at nothing`);
    target = next;
  }
  return target;
}

/**
 * Checks that `schema` stays inside the subset Ferry accepts and counts its nodes with every
 * `$ref` expanded. Throws InvalidSchemaError naming the first problem.
 */
function checkSubset(schema: Record<string, unknown>): void {
  const expandedSize = new Map<unknown, number>();
  const expanding = new Set<unknown>();
  const walk = (node: unknown, at: string, depth: number): number => {
    if (typeof node === 'boolean') return 1;
    if (!isObject(node)) throw new InvalidSchemaError(`invalid schema: ${at} must be a schema (an object or a boolean)`);
    if (depth > SCHEMA_LIMITS.maxDepth) throw new InvalidSchemaError(`invalid schema: nested deeper than ${SCHEMA_LIMITS.maxDepth} levels`);
    const known = expandedSize.get(node);
    if (known !== undefined) return known;
    if (expanding.has(node)) throw new InvalidSchemaError(`invalid schema: $ref at ${at} refers to itself; recursive schemas are not supported`);
    expanding.add(node);
    let size = 1;
    for (const keyword of Object.keys(node)) {
      // A root $id names the document only: each schema compiles alone, so nothing else can refer to it.
      if (keyword === '$id' && at === '#') continue;
      if (keyword.startsWith('$') && !DOLLAR_KEYWORDS.has(keyword)) throw new InvalidSchemaError(`invalid schema: ${keyword} is not supported (at ${at})`);
    }
    if (node.$schema !== undefined && !(typeof node.$schema === 'string' && DRAFT_07.test(node.$schema))) {
      throw new InvalidSchemaError('invalid schema: $schema must be http://json-schema.org/draft-07/schema#');
    }
    if (typeof node.$ref === 'string') size += walk(resolvePointer(schema, node.$ref, at), `${at}/$ref`, depth + 1);
    compilePattern(node.pattern, `${at}/pattern`);
    for (const keyword of SCHEMA_KEYWORDS) if (node[keyword] !== undefined) size += walk(node[keyword], `${at}/${keyword}`, depth + 1);
    if (node.items !== undefined) {
      const items = Array.isArray(node.items) ? node.items : [node.items];
      items.forEach((item, i) => (size += walk(item, `${at}/items/${i}`, depth + 1)));
    }
    for (const keyword of SCHEMA_LIST_KEYWORDS) {
      const list = node[keyword];
      if (Array.isArray(list)) list.forEach((sub, i) => (size += walk(sub, `${at}/${keyword}/${i}`, depth + 1)));
    }
    for (const keyword of SCHEMA_MAP_KEYWORDS) {
      const map = node[keyword];
      if (!isObject(map)) continue;
      for (const [name, sub] of Object.entries(map)) {
        if (keyword === 'patternProperties') compilePattern(name, `${at}/patternProperties`);
        // Definitions count where they are used, through $ref.
        if (keyword !== 'definitions') size += walk(sub, `${at}/${keyword}/${name}`, depth + 1);
        else walk(sub, `${at}/${keyword}/${name}`, depth + 1);
      }
    }
    if (isObject(node.dependencies)) {
      for (const [name, sub] of Object.entries(node.dependencies)) if (!Array.isArray(sub)) size += walk(sub, `${at}/dependencies/${name}`, depth + 1);
    }
    if (node.uniqueItems === true && !uniqueItemsIsCheap(node)) {
      throw new InvalidSchemaError(
        `invalid schema: uniqueItems at ${at} needs items of a scalar type or maxItems of at most ${SCHEMA_LIMITS.maxUniqueItems}`,
      );
    }
    expanding.delete(node);
    expandedSize.set(node, size);
    if (size > SCHEMA_LIMITS.maxExpandedNodes) {
      throw new InvalidSchemaError(`invalid schema: more than ${SCHEMA_LIMITS.maxExpandedNodes} subschemas with every $ref expanded`);
    }
    return size;
  };
  walk(schema, '#', 0);
}

function uniqueItemsIsCheap(node: Record<string, unknown>): boolean {
  if (typeof node.maxItems === 'number' && node.maxItems <= SCHEMA_LIMITS.maxUniqueItems) return true;
  const type = isObject(node.items) ? node.items.type : undefined;
  const types = Array.isArray(type) ? type : [type];
  return types.length > 0 && types.every((t) => typeof t === 'string' && SCALAR_TYPES.has(t));
}

const ajvOptions = {
  strict: false,
  allErrors: false,
  // Referenced definitions compile once as functions rather than being copied into every user.
  inlineRefs: false,
  // `format` is an annotation: its validators are regexes of their own, outside this engine.
  validateFormats: false,
  ownProperties: true,
  addUsedSchema: false,
  // Ajv's code optimiser is superlinear: 990 properties took 490 ms to compile with it, 105 ms without.
  code: { regExp: linearRegExp, optimize: false },
} as const;

/** Checks schemas against the draft-07 meta-schema; it never holds a user's schema. */
const metaValidator = new Ajv(ajvOptions);

/**
 * Compiles a schema on an Ajv instance of its own: nothing it declares is visible to any other
 * schema (of this namespace or another), and dropping the validator frees everything it compiled.
 */
function compile(schema: Record<string, unknown>): ValidateFunction {
  if (Buffer.byteLength(JSON.stringify(schema)) > SCHEMA_LIMITS.maxBytes) {
    throw new InvalidSchemaError(`invalid schema: a schema is at most ${SCHEMA_LIMITS.maxBytes} bytes of JSON`);
  }
  checkSubset(schema);
  if (!metaValidator.validateSchema(schema)) throw new InvalidSchemaError(`invalid schema: ${metaValidator.errorsText(metaValidator.errors)}`);
  try {
    return new Ajv({ ...ajvOptions, meta: false, validateSchema: false }).compile(schema);
  } catch (err) {
    throw new InvalidSchemaError(`invalid schema: ${(err as Error).message}`);
  }
}

/**
 * JSON Schema validation of event data against the namespace's catalog. Schemas are a bounded
 * subset of draft-07 (see `checkSubset`), each compiled alone, once per version of its event type.
 */
export class EventSchemas {
  private readonly compiled = new Map<string, { updatedAt: number; validate: ValidateFunction }>();

  /** Throws InvalidSchemaError when `schema` is not a JSON Schema Ferry accepts. */
  check(schema: Record<string, unknown>): void {
    compile(schema);
  }

  /**
   * Throws EventSchemaError when `data` does not match the type's schema, and InvalidSchemaError
   * when the registered schema is not accepted (a type registered before a limit existed).
   */
  validate(type: EventTypeDefinition, data: unknown): void {
    if (!type.schema) return;
    const validate = this.validatorOf(type, type.schema);
    let valid: unknown;
    patternBudget = SCHEMA_LIMITS.maxPatternInput;
    try {
      valid = validate(data);
    } catch (err) {
      throw new EventSchemaError(`data of event type ${type.name} could not be validated: ${(err as Error).message}`);
    } finally {
      patternBudget = Infinity;
    }
    if (valid !== true) {
      throw new EventSchemaError(`data does not match the schema of event type ${type.name}: ${metaValidator.errorsText(validate.errors, { dataVar: 'data' })}`);
    }
  }

  private validatorOf(type: EventTypeDefinition, schema: Record<string, unknown>): ValidateFunction {
    const key = `${type.namespace}/${type.name}`;
    const entry = this.compiled.get(key);
    this.compiled.delete(key);
    if (entry?.updatedAt === type.updatedAt) {
      this.compiled.set(key, entry);
      return entry.validate;
    }
    let validate: ValidateFunction;
    try {
      validate = compile(schema);
    } catch (err) {
      if (!(err instanceof InvalidSchemaError)) throw err;
      throw new InvalidSchemaError(`the schema of event type ${type.name} is not accepted (${err.message}); update or delete the type`);
    }
    this.compiled.set(key, { updatedAt: type.updatedAt, validate });
    if (this.compiled.size > SCHEMA_LIMITS.maxCompiled) this.compiled.delete(this.compiled.keys().next().value!);
    return validate;
  }
}
