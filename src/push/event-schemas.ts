import Ajv from 'ajv';
import type { ValidateFunction } from 'ajv';
import type { EventTypeDefinition } from '../workflows/endpoints.messages';

/** A schema a user registered does not compile. */
export class InvalidSchemaError extends Error {
  override readonly name = 'InvalidSchemaError';
}

/** An event's data does not match its registered type's schema. */
export class EventSchemaError extends Error {
  override readonly name = 'EventSchemaError';
}

/**
 * JSON Schema validation of event data against the namespace's catalog, with each schema compiled
 * once per version of its event type.
 */
export class EventSchemas {
  private readonly ajv = new Ajv({ strict: false, allErrors: false });
  private readonly compiled = new Map<string, { updatedAt: number; validate: ValidateFunction }>();

  /** Throws InvalidSchemaError when `schema` is not a usable JSON Schema. */
  check(schema: Record<string, unknown>): void {
    if (!this.ajv.validateSchema(schema)) throw new InvalidSchemaError(`invalid schema: ${this.ajv.errorsText(this.ajv.errors)}`);
    try {
      this.ajv.compile(schema);
    } catch (err) {
      throw new InvalidSchemaError(`invalid schema: ${(err as Error).message}`);
    }
  }

  /** Throws EventSchemaError when `data` does not match the type's schema. */
  validate(type: EventTypeDefinition, data: unknown): void {
    if (!type.schema) return;
    const key = `${type.namespace}/${type.name}`;
    let entry = this.compiled.get(key);
    if (entry?.updatedAt !== type.updatedAt) {
      entry = { updatedAt: type.updatedAt, validate: this.ajv.compile(type.schema) };
      this.compiled.set(key, entry);
    }
    if (!entry.validate(data)) {
      throw new EventSchemaError(`data does not match the schema of event type ${type.name}: ${this.ajv.errorsText(entry.validate.errors, { dataVar: 'data' })}`);
    }
  }
}
