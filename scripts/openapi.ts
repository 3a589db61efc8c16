/**
 * `npm run openapi`: writes the API's OpenAPI contract, docs/openapi.yaml, from the server's own
 * schemas (openapi/document.ts). Commit the result: test/unit/openapi.test.ts fails while the
 * committed file differs from what this writes.
 */
import { writeFileSync } from 'node:fs';
import { CONTRACT_FILE, contractText } from '../openapi/contract.ts';

writeFileSync(CONTRACT_FILE, contractText());
console.log(`wrote ${CONTRACT_FILE}`);
