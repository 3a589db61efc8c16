/**
 * Secrets Manager's GetSecretValue as one SigV4-signed HTTPS request: the SDK's own signer
 * (`@smithy/signature-v4`) over the service's JSON 1.1 protocol, instead of the Secrets Manager
 * client. The client adds 13.6 KB to every function bundle for this one call made once per cold
 * start, and the functions' 500 KB bundle budget (bench, row 6) needs that room for Powertools
 * Logger.
 *
 * Like the SDK, it honours AWS_ENDPOINT_URL_SECRETS_MANAGER and AWS_ENDPOINT_URL (LocalStack); else
 * the endpoint is the secret's own region and partition, both read from its ARN.
 */
import { SignatureV4 } from '@smithy/signature-v4';
import { ConfigurationError } from './config.ts';
import { NodeSha256 } from './sigv4-sha256.ts';

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface SecretValueOptions {
  /** Resolves the caller's credentials (in Lambda, the role's: the SDK clients' own provider chain). */
  readonly credentials: () => Promise<Credentials>;
  /** An endpoint that replaces the regional one (AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL). */
  readonly endpoint?: string;
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
}

/** DNS suffix of each partition's regional endpoints (AWS General Reference, "Service endpoints"). */
const PARTITION_DNS_SUFFIX: Readonly<Record<string, string>> = {
  aws: 'amazonaws.com',
  'aws-us-gov': 'amazonaws.com',
  'aws-cn': 'amazonaws.com.cn',
};

/** `arn:<partition>:secretsmanager:<region>:<account>:secret:<name>` → where to ask for it. */
export function secretLocation(arn: string, endpoint?: string): { readonly region: string; readonly url: URL } {
  const [prefix, partition = '', service, region = ''] = arn.split(':');
  if (prefix !== 'arn' || service !== 'secretsmanager' || !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) {
    throw new ConfigurationError(`not a Secrets Manager secret ARN: ${arn}`);
  }
  if (endpoint) return { region, url: new URL(endpoint) };
  const suffix = PARTITION_DNS_SUFFIX[partition];
  if (!suffix) throw new ConfigurationError(`set AWS_ENDPOINT_URL_SECRETS_MANAGER for partition ${partition}`);
  return { region, url: new URL(`https://secretsmanager.${region}.${suffix}/`) };
}

/** The error Secrets Manager answered (its `__type` and message), or a transport failure. */
export class SecretFetchError extends Error {
  override readonly name = 'SecretFetchError';
}

export async function getSecretString(arn: string, options: SecretValueOptions): Promise<string> {
  const { region, url } = secretLocation(arn, options.endpoint);
  const body = JSON.stringify({ SecretId: arn });
  const signer = new SignatureV4({ service: 'secretsmanager', region, credentials: options.credentials, sha256: NodeSha256 });
  const signed = await signer.sign({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    ...(url.port ? { port: Number(url.port) } : {}),
    path: url.pathname,
    query: {},
    headers: {
      host: url.host,
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': 'secretsmanager.GetSecretValue',
    },
    body,
  });
  const response = await (options.fetch ?? fetch)(url, {
    method: 'POST',
    headers: Object.fromEntries(Object.entries(signed.headers).filter(([name]) => name !== 'host')),
    body,
    // Secrets Manager never redirects; following one would carry the signed headers (the session
    // token among them) to wherever it pointed.
    redirect: 'error',
    signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
  });
  const text = await response.text();
  const answer = parseJson(text);
  if (!response.ok) {
    // JSON 1.1 errors name their type in `__type` (`namespace#Code`) and the text in `message` or `Message`.
    const type = String(answer.__type ?? `HTTP ${response.status}`)
      .split('#')
      .pop();
    throw new SecretFetchError(`GetSecretValue ${arn}: ${type}: ${String(answer.message ?? answer.Message ?? text)}`);
  }
  if (typeof answer.SecretString !== 'string') throw new SecretFetchError(`GetSecretValue ${arn}: no SecretString`);
  return answer.SecretString;
}

function parseJson(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
