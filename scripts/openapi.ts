/**
 * `npm run openapi`: writes the API's OpenAPI contract, docs/openapi.yaml, from the server's own
 * schemas (openapi/document.ts), and the file events' JSON Schema, docs/events.schema.json
 * (openapi/events.ts). Commit both: test/unit/openapi.test.ts fails while a committed file differs
 * from what this writes.
 */
import { writeFileSync } from 'node:fs';
import { CONTRACT_FILE, contractText, EVENTS_SCHEMA_FILE, eventsSchemaText } from '../openapi/contract.ts';

writeFileSync(CONTRACT_FILE, contractText());
console.log(`wrote ${CONTRACT_FILE}`);
writeFileSync(EVENTS_SCHEMA_FILE, eventsSchemaText());
console.log(`wrote ${EVENTS_SCHEMA_FILE}`);
