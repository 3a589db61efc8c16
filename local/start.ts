/**
 * `npm start`: the whole service on this machine, no cloud and no Docker. State persists in
 * .hashdrop/ across restarts; .hashdrop/local.json tells the CLI (and you) where everything is.
 */
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readSettings } from '#adapters/config';
import { DEFAULTS } from '#deploy/definitions';
import { apiDocPages, CONTRACT_PATH, REFERENCE_PATH } from './api-docs.ts';
import { startLocalStack } from './stack.ts';
import { startWebServer } from './web-server.ts';

const DATA_DIR = resolve(process.env.HASHDROP_DATA_DIR ?? '.hashdrop');
const port = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);

const stack = await startLocalStack({
  dataDir: DATA_DIR,
  persist: true,
  apiPort: port('HASHDROP_PORT', 4000),
  s3Port: port('HASHDROP_S3_PORT', 4001),
  dynamodbPort: port('HASHDROP_DYNAMODB_PORT', 4002),
  // Settings overrides (HASHDROP_UPLOAD_TTL_SECONDS, HASHDROP_GC_GRACE_SECONDS, ...) as an operator
  // would set them on the deployed functions.
  settings: readSettings(process.env),
  // As often as the stack's schedule in AWS.
  sweepIntervalSeconds: port('HASHDROP_SWEEP_INTERVAL_SECONDS', DEFAULTS.sweepIntervalSeconds),
  // The OpenAPI contract and its reference page (built offline once per version of the contract).
  pages: await apiDocPages(DATA_DIR),
  // File events (docs/events.md) are printed; with this set, also POSTed to your app's backend.
  eventsWebhookUrl: process.env.HASHDROP_EVENTS_WEBHOOK_URL,
});

// The web app on an origin of its own, so that it reaches the API and storage by CORS, as when hosted.
const webOptions = { endpoint: stack.info.endpoint, s3Endpoint: stack.info.s3Endpoint, signingKey: stack.signingKey };
const webPort = port('HASHDROP_WEB_PORT', 4003);
const web = await startWebServer({ ...webOptions, port: webPort }).catch(() => startWebServer(webOptions)); // taken: any free port

const localConfig = { ...stack.info, signingKeyFile: join(DATA_DIR, 'dev-signing-key.json') };
writeFileSync(join(DATA_DIR, 'local.json'), `${JSON.stringify(localConfig, null, 2)}\n`);

console.log(`hashdrop is running locally

  Web app    ${web.url}   (sign in with any user name; the static files are dist/web/)
  API        ${stack.info.endpoint}   (POST /v1/uploads, GET /v1/files, ...)
  API docs   ${stack.info.endpoint}${REFERENCE_PATH}   (reference; the OpenAPI contract is ${stack.info.endpoint}${CONTRACT_PATH})
  S3         ${stack.info.s3Endpoint}   (strict local S3: SigV4, checksums, IAM; bucket "${stack.info.bucket}")
  DynamoDB   ${stack.info.dynamodbEndpoint}   (DynamoDB Local)
  data       ${DATA_DIR}   (kept across restarts; config in local.json)
  events     printed below${process.env.HASHDROP_EVENTS_WEBHOOK_URL ? ` and POSTed to ${process.env.HASHDROP_EVENTS_WEBHOOK_URL}` : ' (set HASHDROP_EVENTS_WEBHOOK_URL to POST them to your backend)'}

Upload from another terminal (the CLI finds this stack through .hashdrop/local.json):

  npx hashdrop put ./some-file                 # first upload: bytes go to storage
  npx hashdrop put ./some-file --as copy.bin   # same content again: instant, 0 bytes sent
  npx hashdrop ls
  npx hashdrop get copy.bin -o ./copy.bin
  npx hashdrop token alice                     # a dev token (sub=alice) for curl:
  curl -H "authorization: Bearer $(npx hashdrop token alice)" ${stack.info.endpoint}/v1/files

Press Ctrl+C to stop.`);

let stopping = false;
const shutdown = async () => {
  if (stopping) return;
  stopping = true;
  console.log('\nstopping hashdrop...');
  await web.stop();
  await stack.stop();
  process.exit(0);
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
