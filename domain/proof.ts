/**
 * Proof of ownership (docs/design.md §4). Knowing a content's hash and size must not be enough to get
 * the file (the "hash as credential" attack on client-side deduplication). Before a hit is
 * linked, the server asks for the SHA-256 of a few byte ranges of the content, chosen from a
 * server secret so that they cannot be predicted, and checks the answer against the stored object.
 *
 * A challenge is stateless until answered: a token carries user, content, size, a nonce and an
 * expiry under an HMAC, and the ranges are derived from the same secret. An answered challenge
 * is recorded so that it cannot be replayed.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ByteRange, Challenge, Proof } from '#protocol/api';
import { BusyError, DomainError } from './errors.ts';
import type { Deps } from './ports.ts';

/** Ranges per challenge and their length: 256 KiB to read, out of any part of the file. */
const RANGE_COUNT = 4;
const RANGE_LENGTH = 64 * 1024;

interface ChallengeClaims {
  readonly v: 1;
  readonly user: string;
  readonly contentId: string;
  readonly size: number;
  readonly nonce: string;
  /** Epoch ms. */
  readonly expires: number;
}

export class ProofError extends DomainError {
  constructor(code: string, message: string) {
    super('forbidden', code, message);
    this.name = 'ProofError';
  }
}

const mac = (secret: Uint8Array, label: string, body: string): Buffer =>
  createHmac('sha256', secret).update(`${label}:${body}`).digest();

/** Ranges spread over the content, unpredictable without the secret. */
function rangesFor(secret: Uint8Array, body: string, size: number): ByteRange[] {
  if (size === 0) return [];
  const length = Math.min(RANGE_LENGTH, size);
  const seed = mac(secret, 'ranges', body);
  return Array.from({ length: RANGE_COUNT }, (_, index) => ({
    start: seed.readUIntBE(index * 6, 6) % (size - length + 1),
    length,
  }));
}

export async function issueChallenge(deps: Deps, userId: string, contentId: string, size: number): Promise<Challenge> {
  const secret = await deps.proofSecret();
  const claims: ChallengeClaims = {
    v: 1,
    user: userId,
    contentId,
    size,
    nonce: randomBytes(16).toString('hex'),
    expires: deps.now() + deps.settings.proofTtlSeconds * 1000,
  };
  const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return {
    token: `${body}.${mac(secret, 'token', body).toString('base64url')}`,
    ranges: rangesFor(secret, body, size),
    expiresAt: new Date(claims.expires).toISOString(),
  };
}

function readClaims(secret: Uint8Array, token: string): { claims: ChallengeClaims; body: string } {
  const [body = '', signature = '', ...rest] = token.split('.');
  const expected = mac(secret, 'token', body);
  const given = Buffer.from(signature, 'base64url');
  if (rest.length > 0 || given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new ProofError('invalid_challenge', 'the challenge token is not one this server issued');
  }
  return { claims: JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as ChallengeClaims, body };
}

/** SHA-256 of the object's ranges, in order; the ranges are read in parallel. */
async function rangesDigest(deps: Deps, objectKey: string, ranges: readonly ByteRange[]): Promise<Buffer> {
  const parts = await Promise.all(
    ranges.map(async (range) => {
      const bytes = await deps.blobs.read(objectKey, range);
      // Only the sweeper removes a READY content's object: it is being deleted. Retryable.
      if (!bytes) throw new BusyError('content_deleting', 'this content is being deleted; retry in a moment');
      const chunks: Uint8Array[] = [];
      for await (const chunk of bytes) chunks.push(chunk);
      return Buffer.concat(chunks);
    }),
  );
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

/** The claims of a genuine, unexpired challenge issued to this user for this content and size. */
async function validClaims(
  deps: Deps,
  userId: string,
  content: { readonly contentId: string; readonly size: number },
  proof: Proof,
): Promise<{ secret: Uint8Array; claims: ChallengeClaims; body: string }> {
  const secret = await deps.proofSecret();
  const { claims, body } = readClaims(secret, proof.token);
  if (claims.user !== userId || claims.contentId !== content.contentId || claims.size !== content.size) {
    throw new ProofError('challenge_mismatch', 'the challenge was issued for another request');
  }
  if (claims.expires < deps.now()) throw new ProofError('challenge_expired', 'the challenge expired; ask again');
  return { secret, claims, body };
}

/**
 * Checks that a proof answers a challenge issued for this request, without the stored object
 * (there may be none yet): what 'always' mode asks of a request before answering it.
 */
export async function checkChallenge(
  deps: Deps,
  userId: string,
  content: { readonly contentId: string; readonly size: number },
  proof: Proof,
): Promise<void> {
  await validClaims(deps, userId, content, proof);
}

/**
 * Checks a proof for (user, content, size) against the stored object and consumes its
 * challenge. Throws ProofError unless the caller demonstrably holds the bytes.
 */
export async function verifyProof(
  deps: Deps,
  userId: string,
  content: { readonly contentId: string; readonly size: number; readonly objectKey: string },
  proof: Proof,
): Promise<void> {
  const { secret, claims, body } = await validClaims(deps, userId, content, proof);
  // The challenge is consumed while the ranges are read: an answer is checked once, right or wrong.
  const [fresh, expected] = await Promise.all([
    deps.catalog.consumeChallenge(userId, claims.nonce, claims.expires),
    rangesDigest(deps, content.objectKey, rangesFor(secret, body, content.size)),
  ]);
  if (!fresh) throw new ProofError('challenge_used', 'this challenge was answered already; ask again');
  const given = Buffer.from(proof.sha256, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new ProofError('proof_failed', 'the answer does not match the content');
  }
}
