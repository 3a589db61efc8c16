/**
 * Checks file events against their published JSON Schema, docs/events.schema.json, as a backend
 * would (ajv, JSON Schema 2020-12): the committed file, which test/unit/openapi.test.ts proves is
 * what the generator writes today. Used by the unit test of the schema and by the integration
 * test that receives events over a webhook.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { EVENTS_SCHEMA_FILE } from '../../openapi/contract.ts';

type JsonObject = { [key: string]: unknown };

const DATE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

export interface EventSchemaCheck {
  /** The schema file as committed. */
  readonly schema: JsonObject;
  /** What is wrong with an event (a `detail`), or undefined if the schema accepts it. */
  event(value: unknown): string | undefined;
  /** What is wrong with the value under one of the schema's `$defs` (e.g. `FileEventEnvelope`). */
  definition(id: string, value: unknown): string | undefined;
  /** What is wrong with what a backend received: the envelope of its `detail-type` (that type's event only). */
  envelope(value: unknown): string | undefined;
}

export function eventSchemaCheck(): EventSchemaCheck {
  const schema = JSON.parse(readFileSync(EVENTS_SCHEMA_FILE, 'utf8')) as JsonObject;
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  ajv.addFormat('date-time', (text: string) => DATE_TIME.test(text) && !Number.isNaN(Date.parse(text)));
  ajv.addSchema(schema);
  const id = String(schema.$id);
  const validators = new Map<string, ValidateFunction>();
  const run = (ref: string, value: unknown): string | undefined => {
    let validate = validators.get(ref);
    if (!validate) {
      validate = ajv.getSchema(ref);
      if (!validate) throw new Error(`no schema at ${ref}`);
      validators.set(ref, validate);
    }
    return validate(value) ? undefined : ajv.errorsText(validate.errors);
  };
  const defs = (schema.$defs ?? {}) as Record<string, { properties?: Record<string, { const?: unknown }> }>;
  const envelopeOf = (detailType: unknown) =>
    Object.keys(defs).find((name) => defs[name]?.properties?.['detail-type']?.const === detailType) ?? 'FileEventEnvelope';
  return {
    schema,
    event: (value) => run(id, value),
    definition: (name, value) => run(`${id}#/$defs/${name}`, value),
    envelope: (value) =>
      run(
        `${id}#/$defs/${envelopeOf(typeof value === 'object' && value !== null ? (value as JsonObject)['detail-type'] : undefined)}`,
        value,
      ),
  };
}
