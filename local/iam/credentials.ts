/**
 * Each function's own local credentials. In AWS a function signs with its role's temporary
 * credentials, so a presigned URL carries exactly the rights of the function that signed it; here
 * each function gets an access key id of its own that the local IAM maps back to its policies.
 * They are derived from the function id alone, so a test process computes the same ones as the
 * process that runs the stack. Local only: they guard nothing but the fidelity of the tests.
 */
import { FUNCTIONS, type FunctionId } from '#deploy/definitions';

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

export const FUNCTION_IDS: readonly FunctionId[] = FUNCTIONS.map(({ id }) => id);

/** `ASIA…` as AWS's temporary (assumed-role) key ids begin; then the function's id. */
export function functionCredentials(functionId: FunctionId): Credentials {
  return {
    accessKeyId: `ASIALOCAL${functionId.toUpperCase()}`,
    secretAccessKey: `hashdrop-local-${functionId}-secret`,
  };
}

const BY_KEY = new Map(FUNCTION_IDS.map((id) => [functionCredentials(id).accessKeyId, id] as const));

/** The function whose key this is, if any. */
export function functionOfKey(accessKeyId: string): FunctionId | undefined {
  return BY_KEY.get(accessKeyId);
}
