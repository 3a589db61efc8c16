/**
 * Checks API responses against the OpenAPI contract (docs/openapi.yaml): the status must be one
 * the contract lists for the operation, the body must match that response's schema (ajv, JSON
 * Schema 2020-12 as OpenAPI 3.1 uses), and an error's `code` must be one the response lists in
 * `x-error-codes`. Used by the integration tests for every response they receive over fetch
 * (test/support/contract-setup.ts).
 *
 * The document checked is the generator's, once the committed file is proven to be its text
 * byte for byte: no YAML parser is a dependency, and the two cannot differ.
 */
import { readFileSync } from 'node:fs';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { CONTRACT_FILE, contractDocument, contractText } from '../../openapi/contract.ts';

type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
type JsonObject = { [key: string]: JsonValue };

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

interface Operation {
  readonly method: string;
  readonly template: string;
  readonly pattern: RegExp;
  readonly responses: JsonObject;
}

/** Where the components live for ajv: `#/components/schemas/X` becomes `contract#/$defs/X`. */
const CONTRACT_ID = 'https://hashdrop.invalid/contract';

function rewriteRefs(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const [key, item] of Object.entries(value)) {
    // OpenAPI's discriminator is a hint for code generators; `oneOf` alone decides validity.
    if (key === 'discriminator') continue;
    out[key] =
      key === '$ref' && typeof item === 'string'
        ? item.replace('#/components/schemas/', `${CONTRACT_ID}#/$defs/`)
        : rewriteRefs(item);
  }
  return out;
}

const DATE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

export class ContractChecker {
  private readonly ajv = new Ajv2020({ strict: true, allErrors: true });
  private readonly operations: Operation[] = [];
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(document: JsonObject) {
    this.ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && Math.abs(n) <= 2 ** 31 });
    this.ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isSafeInteger(n) });
    this.ajv.addFormat('date-time', (text: string) => DATE_TIME.test(text) && !Number.isNaN(Date.parse(text)));
    this.ajv.addFormat('uri', (text: string) => URL.canParse(text));
    const components = isObject(document.components) && isObject(document.components.schemas) ? document.components.schemas : {};
    this.ajv.addSchema({ $id: CONTRACT_ID, $defs: rewriteRefs(components) });
    const paths = isObject(document.paths) ? document.paths : {};
    for (const [template, item] of Object.entries(paths)) {
      if (!isObject(item)) continue;
      // A `{param}` is one path segment as sent (still percent-encoded).
      const pattern = new RegExp(`^${template.replace(/\{\w+\}/g, '[^/]+')}$`);
      for (const [method, operation] of Object.entries(item)) {
        if (isObject(operation) && isObject(operation.responses)) {
          this.operations.push({ method: method.toUpperCase(), template, pattern, responses: operation.responses });
        }
      }
    }
  }

  /** The contract's operation for a request, if it is one of the API's. */
  operationFor(method: string, url: string): Operation | undefined {
    const { pathname } = new URL(url);
    return this.operations.find((operation) => operation.method === method.toUpperCase() && operation.pattern.test(pathname));
  }

  /** What is wrong with this answer to `method url`, or undefined if the contract allows it. */
  check(method: string, url: string, status: number, contentType: string | null, body: string): string | undefined {
    const operation = this.operationFor(method, url);
    if (!operation) return undefined;
    const where = `${operation.method} ${operation.template} → ${status}`;
    const response = operation.responses[String(status)];
    if (!isObject(response)) return `${where}: the contract lists no ${status} for this operation (body ${body.slice(0, 300)})`;
    const media = isObject(response.content) ? response.content['application/json'] : undefined;
    if (!isObject(media) || !isObject(media.schema)) return `${where}: the contract has no JSON schema for it`;
    if (!contentType?.startsWith('application/json')) return `${where}: content-type ${contentType}, not application/json`;
    let data: unknown;
    try {
      data = JSON.parse(body);
    } catch {
      return `${where}: the body is not JSON: ${body.slice(0, 300)}`;
    }
    const validate = this.validatorFor(`${operation.method} ${operation.template} ${status}`, media.schema);
    if (!validate(data)) {
      return `${where}: ${this.ajv.errorsText(validate.errors, { dataVar: 'body' })}; body ${body.slice(0, 500)}`;
    }
    const codes = Array.isArray(response['x-error-codes']) ? response['x-error-codes'] : [];
    const code = isObject(data) && isObject(data.error) ? data.error.code : undefined;
    if (typeof code === 'string' && !codes.includes(code)) {
      return `${where}: error code ${code} is not one the contract lists for it (${codes.join(', ')})`;
    }
    return undefined;
  }

  private validatorFor(key: string, schema: JsonObject): ValidateFunction {
    let validate = this.validators.get(key);
    if (!validate) {
      validate = this.ajv.compile(rewriteRefs(schema) as JsonObject);
      this.validators.set(key, validate);
    }
    return validate;
  }
}

/** The checker of docs/openapi.yaml, refusing to check against a stale file. */
export function loadContractChecker(): ContractChecker {
  if (readFileSync(CONTRACT_FILE, 'utf8') !== contractText()) {
    throw new Error(`${CONTRACT_FILE} is stale: run \`npm run openapi\` (test/unit/openapi.test.ts says how it differs)`);
  }
  return new ContractChecker(contractDocument() as JsonObject);
}

/**
 * `fetch` that checks every answer to a request of the API's operations, whatever the host (the
 * tests run more than one local stack), and reports what the contract does not allow.
 */
export function checkedFetch(inner: typeof fetch, checker: ContractChecker, report: (violation: string) => void): typeof fetch {
  return async (input, init) => {
    const response = await inner(input, init);
    const url = input instanceof Request ? input.url : String(input);
    const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
    if (!checker.operationFor(method, url)) return response;
    let body: string;
    try {
      body = await response.clone().text();
    } catch {
      // The caller aborted or the connection broke: there is no answer to check.
      return response;
    }
    const violation = checker.check(method, url, response.status, response.headers.get('content-type'), body);
    if (violation) report(violation);
    return response;
  };
}
