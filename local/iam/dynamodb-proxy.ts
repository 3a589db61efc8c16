/**
 * IAM in front of DynamoDB Local, which checks no credentials at all: an HTTP proxy on loopback
 * that verifies each request's SigV4 signature (with the SDK's own @smithy/signature-v4), finds
 * whose key signed it, maps the operation (`X-Amz-Target`) and its JSON body to the IAM actions
 * and resources DynamoDB checks (local/iam/actions.ts), and refuses what the caller's policies do
 * not allow exactly as DynamoDB does: HTTP 400, `com.amazon.coral.service#AccessDeniedException`
 * with AWS's message, which the SDK raises as an `AccessDeniedException`. Allowed requests go to
 * DynamoDB Local byte for byte, and its answer comes back the same way.
 */
import { createHash, createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { Agent, createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignatureV4 } from '@smithy/signature-v4';
import type { AccessControl } from './access.ts';
import { dynamoAuthorizations } from './actions.ts';

type SourceData = string | ArrayBuffer | ArrayBufferView;

const bytes = (data: SourceData): Buffer =>
  typeof data === 'string'
    ? Buffer.from(data, 'utf8')
    : ArrayBuffer.isView(data)
      ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
      : Buffer.from(data);

/** SHA-256 (or its HMAC, given a secret) on node:crypto, in the shape the signer asks for. */
class Sha256 {
  private hash;
  constructor(private readonly secret?: SourceData) {
    this.hash = this.fresh();
  }
  private fresh() {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(this.secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    this.hash = this.fresh();
  }
}

const AUTHORIZATION =
  /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request,\s*SignedHeaders=([^,]+),\s*Signature=([0-9a-f]{64})$/;

/** `20260101T120000Z` → Date. */
function amzDate(text: string | undefined): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text ?? '');
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number);
  return new Date(Date.UTC(y ?? 0, (mo ?? 1) - 1, d ?? 0, h ?? 0, mi ?? 0, s ?? 0));
}

interface Failure {
  readonly type: string;
  readonly message: string;
}

/** DynamoDB's own answers to an unsigned, unknown-key or wrongly signed request. */
const MISSING_TOKEN: Failure = {
  type: 'MissingAuthenticationTokenException',
  message: 'Request is missing Authentication Token',
};
const UNKNOWN_KEY: Failure = {
  type: 'UnrecognizedClientException',
  message: 'The security token included in the request is invalid.',
};
const BAD_SIGNATURE: Failure = {
  type: 'InvalidSignatureException',
  message:
    'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
};

export interface DynamoDbProxy {
  readonly endpoint: string;
  close(): Promise<void>;
}

export interface DynamoDbProxyOptions {
  /** DynamoDB Local's own endpoint (`http://127.0.0.1:<port>`). */
  readonly target: string;
  readonly access: AccessControl;
  /** The port to listen on; 0 picks a free one. */
  readonly port?: number;
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startDynamoDbProxy({ target, access, port = 0 }: DynamoDbProxyOptions): Promise<DynamoDbProxy> {
  const upstream = new URL(target);
  // Connections to DynamoDB Local are reused, as the SDK's own are.
  const agent = new Agent({ keepAlive: true });
  const signers = new Map<string, SignatureV4>();

  const signerFor = (accessKeyId: string, secretAccessKey: string, region: string, service: string): SignatureV4 => {
    const cacheKey = `${accessKeyId}/${region}/${service}`;
    let signer = signers.get(cacheKey);
    if (!signer) {
      // applyChecksum off: only the headers the client signed take part, none are added.
      signer = new SignatureV4({
        credentials: { accessKeyId, secretAccessKey },
        region,
        service,
        sha256: Sha256,
        applyChecksum: false,
      });
      signers.set(cacheKey, signer);
    }
    return signer;
  };

  /** The key id that validly signed the request, or why not. */
  async function authenticate(request: IncomingMessage, body: Buffer): Promise<{ accessKeyId: string } | Failure> {
    const match = AUTHORIZATION.exec(request.headers.authorization ?? '');
    if (!match) return MISSING_TOKEN;
    const [, accessKeyId = '', , region = '', service = '', signedHeaders = '', signature = ''] = match;
    const secret = access.secretFor(accessKeyId);
    if (secret === undefined) return UNKNOWN_KEY;
    const signingDate = amzDate(request.headers['x-amz-date']?.toString());
    if (!signingDate) return BAD_SIGNATURE;
    const headers: Record<string, string> = {};
    for (const name of signedHeaders.split(';')) {
      const value = request.headers[name];
      if (value === undefined) return BAD_SIGNATURE;
      headers[name] = Array.isArray(value) ? value.join(',') : value;
    }
    const [path = '/', query = ''] = (request.url ?? '/').split('?');
    const signed = await signerFor(accessKeyId, secret, region, service).sign(
      {
        method: request.method ?? 'POST',
        protocol: 'http:',
        hostname: upstream.hostname,
        path,
        query: Object.fromEntries(new URLSearchParams(query)),
        headers,
        body,
      },
      { signingDate, signingRegion: region, signingService: service },
    );
    const expected = /Signature=([0-9a-f]{64})/.exec(String(signed.headers.authorization ?? ''))?.[1] ?? '';
    const valid = expected.length === signature.length && timingSafeEqual(Buffer.from(expected), Buffer.from(signature));
    return valid ? { accessKeyId } : BAD_SIGNATURE;
  }

  function refuse(response: ServerResponse, failure: Failure): void {
    const payload = JSON.stringify({ __type: `com.amazon.coral.service#${failure.type}`, Message: failure.message });
    response.writeHead(400, {
      'content-type': 'application/x-amz-json-1.0',
      'content-length': Buffer.byteLength(payload),
      'x-amzn-requestid': randomUUID(),
    });
    response.end(payload);
  }

  function forward(request: IncomingMessage, body: Buffer, response: ServerResponse): void {
    const outgoing = httpRequest(
      {
        hostname: upstream.hostname,
        port: upstream.port,
        method: request.method,
        path: request.url,
        headers: request.headers,
        agent,
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    outgoing.on('error', (error) => {
      if (response.headersSent) response.destroy(error);
      else refuse(response, { type: 'InternalServerError', message: `DynamoDB Local: ${error.message}` });
    });
    outgoing.end(body);
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await readBody(request);
    const caller = await authenticate(request, body);
    if ('type' in caller) return refuse(response, caller);
    // `DynamoDB_20120810.UpdateItem` → UpdateItem.
    const operation = String(request.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
    const region = AUTHORIZATION.exec(request.headers.authorization ?? '')?.[3] ?? '';
    let parsed: unknown;
    try {
      parsed = body.length > 0 ? JSON.parse(body.toString('utf8')) : {};
    } catch {
      // DynamoDB Local answers malformed JSON itself; IAM cannot judge it, AWS would refuse it too.
      return forward(request, body, response);
    }
    const verdict = access.check(caller.accessKeyId, dynamoAuthorizations(operation, parsed, region));
    if (!verdict.allowed) return refuse(response, { type: 'AccessDeniedException', message: verdict.message });
    forward(request, body, response);
  }

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) refuse(response, { type: 'InternalServerError', message: String(error) });
      else response.destroy();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => done());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${bound}`,
    async close() {
      const closed = new Promise<void>((done) => server.close(() => done()));
      server.closeAllConnections();
      await closed;
      agent.destroy();
    },
  };
}
