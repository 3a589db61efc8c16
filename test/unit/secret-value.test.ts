/**
 * The functions' one signed call to Secrets Manager (adapters/secret-value.ts), against a loopback
 * server that checks what Secrets Manager would: the JSON 1.1 target and body, and a SigV4
 * signature for service `secretsmanager` in the secret's region, recomputed from the request as
 * received with the key the server knows.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConfig } from '#adapters/config';
import { proofSecretSource } from '#adapters/proof-secret';
import { getSecretString, SecretFetchError, secretLocation } from '#adapters/secret-value';
import { NodeSha256 } from '#adapters/sigv4-sha256';

const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:hashdrop-proof-AbCdEf';
const KEYS = new Map([['AKIDFUNCTION', 'function-secret-key']]);
const SECRET = 'k'.repeat(48);

interface Received {
  readonly target: string | undefined;
  readonly body: string;
  readonly scope: string;
  readonly sessionToken: string | undefined;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The signature the request should carry, recomputed as the service would, or why it cannot be. */
async function verify(request: IncomingMessage, body: string): Promise<{ scope: string } | { error: string }> {
  const match = /^AWS4-HMAC-SHA256 Credential=([^,]+), SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
    request.headers.authorization ?? '',
  );
  if (!match) return { error: 'MissingAuthenticationTokenException' };
  const [, credential = '', signedList = '', signature] = match;
  const [accessKeyId = '', date, region = '', service, terminator] = credential.split('/');
  const secretAccessKey = KEYS.get(accessKeyId);
  if (!secretAccessKey) return { error: 'UnrecognizedClientException' };
  const amzDate = String(request.headers['x-amz-date']);
  const signed = new Set(signedList.split(';'));
  const headers = Object.fromEntries([...signed].map((name) => [name, String(request.headers[name])]));
  const signer = new SignatureV4({
    service: service ?? '',
    region,
    credentials: { accessKeyId, secretAccessKey, sessionToken: String(request.headers['x-amz-security-token'] ?? '') },
    sha256: NodeSha256,
  });
  const expected = await signer.sign(
    {
      method: request.method ?? '',
      protocol: 'http:',
      hostname: '127.0.0.1',
      path: request.url ?? '/',
      query: {},
      headers,
      body,
    },
    {
      signingDate: new Date(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z')),
      signableHeaders: signed,
    },
  );
  if (!String(expected.headers.authorization).endsWith(`Signature=${signature}`)) return { error: 'InvalidSignatureException' };
  return { scope: `${date?.length}/${region}/${service}/${terminator}` };
}

let server: Server;
let endpoint: string;
const received: Received[] = [];
/** Every request's path, signed or not. */
const hits: string[] = [];

beforeAll(async () => {
  server = createServer(async (request, response) => {
    hits.push(request.url ?? '');
    const body = await readBody(request);
    const verdict = await verify(request, body);
    const reply = (status: number, answer: object) => {
      response.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(answer));
    };
    if ('error' in verdict) return reply(400, { __type: verdict.error, message: 'refused' });
    if (request.url === '/redirect') {
      response.writeHead(307, { location: `${endpoint}/` }).end();
      return;
    }
    received.push({
      target: request.headers['x-amz-target'] as string | undefined,
      body,
      scope: verdict.scope,
      sessionToken: request.headers['x-amz-security-token'] as string | undefined,
    });
    const { SecretId } = JSON.parse(body) as { SecretId: string };
    if (SecretId !== ARN)
      return reply(400, { __type: 'com.amazonaws.secretsmanager#ResourceNotFoundException', Message: 'no such secret' });
    return reply(200, { ARN, Name: 'hashdrop-proof', SecretString: SECRET });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const functionCredentials = async () => ({
  accessKeyId: 'AKIDFUNCTION',
  secretAccessKey: 'function-secret-key',
  sessionToken: 'session',
});

describe('GetSecretValue as one signed request', () => {
  it('is a JSON 1.1 call signed for secretsmanager in the secret’s region, with the session token', async () => {
    received.length = 0;
    await expect(getSecretString(ARN, { credentials: functionCredentials, endpoint })).resolves.toBe(SECRET);
    expect(received).toEqual([
      {
        target: 'secretsmanager.GetSecretValue',
        body: JSON.stringify({ SecretId: ARN }),
        scope: '8/eu-west-1/secretsmanager/aws4_request',
        sessionToken: 'session',
      },
    ]);
  });

  it('a signature the service cannot reproduce, or an error it answers, is thrown with the service’s error type', async () => {
    const wrongKey = async () => ({ accessKeyId: 'AKIDFUNCTION', secretAccessKey: 'not-the-key' });
    await expect(getSecretString(ARN, { credentials: wrongKey, endpoint })).rejects.toThrow(
      new SecretFetchError(`GetSecretValue ${ARN}: InvalidSignatureException: refused`),
    );
    const other = ARN.replace('AbCdEf', 'XyZ123');
    await expect(getSecretString(other, { credentials: functionCredentials, endpoint })).rejects.toThrow(
      /ResourceNotFoundException: no such secret/,
    );
  });

  it('without an endpoint asks the secret’s own region and partition', () => {
    expect(secretLocation(ARN).url.href).toBe('https://secretsmanager.eu-west-1.amazonaws.com/');
    expect(secretLocation('arn:aws-cn:secretsmanager:cn-north-1:1:secret:s').url.href).toBe(
      'https://secretsmanager.cn-north-1.amazonaws.com.cn/',
    );
    expect(() => secretLocation('arn:aws:s3:::bucket')).toThrow(/not a Secrets Manager secret ARN/);
    expect(() => secretLocation('arn:aws-iso:secretsmanager:us-iso-east-1:1:secret:s')).toThrow(
      /AWS_ENDPOINT_URL_SECRETS_MANAGER/,
    );
  });

  it('a function reads AWS_ENDPOINT_URL_SECRETS_MANAGER, else AWS_ENDPOINT_URL, as the SDK does, and fetches through it once', async () => {
    const env = { CONTENTS_TABLE: 'c', FILES_TABLE: 'f', BUCKET_NAME: 'b', HASHDROP_PROOF_SECRET_ARN: ARN };
    expect(
      readConfig('Sweeper', { ...env, AWS_ENDPOINT_URL: 'http://all', AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint }).proofSecret
        .endpoint,
    ).toBe(endpoint);
    expect(readConfig('Sweeper', { ...env, AWS_ENDPOINT_URL: 'http://all' }).proofSecret.endpoint).toBe('http://all');
    expect(readConfig('Sweeper', env).proofSecret.endpoint).toBeUndefined();
    received.length = 0;
    const secret = proofSecretSource(
      readConfig('Sweeper', { ...env, AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint }).proofSecret,
      functionCredentials,
    );
    expect(Buffer.from(await secret()).toString()).toBe(SECRET);
    expect(Buffer.from(await secret()).toString()).toBe(SECRET);
    expect(received).toHaveLength(1);
  });

  it('follows no redirect: the signed headers, session token among them, go nowhere but the endpoint', async () => {
    hits.length = 0;
    await expect(getSecretString(ARN, { credentials: functionCredentials, endpoint: `${endpoint}/redirect` })).rejects.toThrow();
    expect(hits).toEqual(['/redirect']);
  });
});
