/**
 * Proof of ownership (docs/design.md §4). Knowing a content's hash and size must not be enough to get
 * the file (the "hash as credential" attack on client-side deduplication). Before a hit is
 * linked, the server asks for the SHA-256 of byte ranges of the content, chosen from a server
 * secret so that they cannot be predicted, and checks the answer against the stored object.
 *
 * A challenge cannot be re-rolled: its ranges are derived from (user, content, size, period)
 * alone, so asking again within a period shows the same ranges. 44 ranges make a client that
 * holds 90% of the file (any 90%) pass with probability 0.9^44 < 1%. Every challenge shown counts
 * as open for its user until it is met, and for its content as in flight, then as failed if it
 * is not met within seconds; past a limit of open (per user) or failed (per content) challenges,
 * new ones are refused for the rest of the period, so more accounts buy few more looks. Each
 * challenge takes a few answers (no guessing a missing byte against the server), and each token
 * is answered once (no replay).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ByteRange, Challenge, Proof } from '#protocol/api';
import { BusyError, DomainError, LimitedError } from './errors.ts';
import type { ChallengeKey, Deps, Settings } from './ports.ts';

/**
 * Ranges per challenge. A range that starts uniformly at random avoids a missing tenth of the file
 * with probability at most 0.9, so a client holding 90% answers all of them with probability at
 * most 0.9^44 ≈ 0.0097, below 1% (43 ranges give 1.08%).
 */
export const RANGE_COUNT = 44;
/** Bytes per range: 704 KiB to read at most, whatever the file's size. */
export const RANGE_LENGTH = 16 * 1024;
/**
 * Answers counted per unmet challenge and period: enough for a client's retries, too few to
 * guess a byte it lacks by asking the server (a met challenge takes any number).
 */
export const MAX_ANSWERS = 5;

/**
 * S3 serves one range per GET. Ranges whose span fits in this many bytes are read with one GET
 * (so a file up to 4 MiB costs one request), others in GETs of nearby ranges, a few at a time.
 */
const ONE_READ_SPAN = 4 * 1024 * 1024;
/** Ranges closer than this are read with one GET: a request costs more than 64 KiB of transfer. */
const MERGE_GAP = 64 * 1024;
/**
 * GETs in flight for one proof: all of them, so a proof costs one round of reads whatever the
 * file's size (S3 serves thousands of GETs a second per prefix; the SDK keeps 50 sockets).
 */
const READ_CONCURRENCY = RANGE_COUNT;

/**
 * Challenges of one content being answered at once (shown, neither met nor failed yet): one more
 * is refused for a moment (503 proof_busy, which clients retry). Honest clients answer within a
 * round trip, so this holds back only bursts of new provers of one content (32 at once go
 * through); it also bounds how many looks unanswered challenges take before they fail: with the
 * failed limit, at most 32 + 5 − 1 a day per content.
 */
export const IN_FLIGHT_PER_CONTENT = 32;
/** A challenge shown this long ago and still unmet has failed (it may still be met later). */
export const FAILED_AFTER_SECONDS = 30;

interface ChallengeClaims {
  readonly v: 2;
  readonly user: string;
  readonly contentId: string;
  readonly size: number;
  readonly period: number;
  /** Identifies this token, so that each token is answered once; the ranges do not depend on it. */
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

const periodMs = (settings: Settings): number => settings.proofPeriodSeconds * 1000;

/** The period a moment falls in: challenges stay the same within one. */
export const periodOf = (settings: Settings, at: number): number => Math.floor(at / periodMs(settings));

/**
 * What a period's bookkeeping must outlive: its last token may be answered until one token
 * lifetime after the period ends.
 */
const ledgerExpiry = (settings: Settings, period: number): number =>
  (period + 1) * periodMs(settings) + settings.proofTtlSeconds * 1000;

/**
 * The ranges of challenge `key`: RANGE_COUNT ranges of RANGE_LENGTH bytes, each start drawn from
 * 8 bytes of HMAC output (modulo size − length + 1: a bias below 2^-18 for any size S3 can store),
 * so they are independent of each other and unpredictable without the secret. A file no longer
 * than one range is asked for whole: nothing less proves it.
 */
export function challengeRanges(secret: Uint8Array, key: ChallengeKey): ByteRange[] {
  if (key.size === 0) return [];
  if (key.size <= RANGE_LENGTH) return [{ start: 0, length: key.size }];
  const length = RANGE_LENGTH;
  const starts = BigInt(key.size - length + 1);
  const subject = JSON.stringify([key.userId, key.contentId, key.size, key.period]);
  const ranges: ByteRange[] = [];
  for (let block = 0; ranges.length < RANGE_COUNT; block++) {
    const seed = mac(secret, `ranges:${block}`, subject);
    for (let offset = 0; offset + 8 <= seed.length && ranges.length < RANGE_COUNT; offset += 8) {
      ranges.push({ start: Number(seed.readBigUInt64BE(offset) % starts), length });
    }
  }
  return ranges;
}

/** Too many challenges of this content are being answered right now: ask again in a moment (a `wait`). */
export class ChallengeBusyError extends BusyError {
  constructor() {
    super('proof_busy', 'many clients are proving they hold this content right now; ask again in a moment');
    this.name = 'ChallengeBusyError';
  }
}

function limited(deps: Deps, period: number): LimitedError {
  return new LimitedError(
    'proof_limited',
    'too many unmet proofs of ownership for this user or this content; retry later',
    ((period + 1) * periodMs(deps.settings) - deps.now()) / 1000,
  );
}

/**
 * The challenge for (user, content, size) in the current period: the same ranges every time it
 * is asked for, each time under a fresh token. Its first issue opens it (docs/design.md §4):
 * refused with 429 `proof_limited` when the user has too many open or the content too many
 * failed, and with ChallengeBusyError (503 proof_busy: clients ask again in a moment) when too
 * many of the content's are being answered.
 */
export async function issueChallenge(deps: Deps, userId: string, contentId: string, size: number): Promise<Challenge> {
  const now = deps.now();
  const key: ChallengeKey = { userId, contentId, size, period: periodOf(deps.settings, now) };
  const limits = {
    perUser: deps.settings.proofFailuresPerUser,
    inFlightPerContent: IN_FLIGHT_PER_CONTENT,
    failedPerContent: deps.settings.proofFailuresPerContent,
    staleBefore: now - FAILED_AFTER_SECONDS * 1000,
  };
  const [secret, opened] = await Promise.all([
    deps.proofSecret(),
    deps.catalog.openChallenge(key, limits, now, ledgerExpiry(deps.settings, key.period)),
  ]);
  if (opened === 'limited') throw limited(deps, key.period);
  if (opened === 'busy') throw new ChallengeBusyError();
  const claims: ChallengeClaims = {
    v: 2,
    user: userId,
    contentId,
    size,
    period: key.period,
    nonce: randomBytes(16).toString('hex'),
    expires: now + deps.settings.proofTtlSeconds * 1000,
  };
  const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return {
    token: `${body}.${mac(secret, 'token', body).toString('base64url')}`,
    ranges: challengeRanges(secret, key),
    expiresAt: new Date(claims.expires).toISOString(),
  };
}

function readClaims(secret: Uint8Array, token: string): ChallengeClaims {
  const [body = '', signature = '', ...rest] = token.split('.');
  const expected = mac(secret, 'token', body);
  const given = Buffer.from(signature, 'base64url');
  if (rest.length > 0 || given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new ProofError('invalid_challenge', 'the challenge token is not one this server issued');
  }
  const claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as ChallengeClaims;
  // A token of the former format (ranges from its nonce) cannot be checked any more: ask again.
  if (claims.v !== 2) throw new ProofError('challenge_expired', 'the challenge expired; ask again');
  return claims;
}

/** Reads the ranges of the object, one GET per span of nearby ranges, a few at a time. */
async function readRanges(deps: Deps, objectKey: string, ranges: readonly ByteRange[]): Promise<Buffer[]> {
  const spans = spansOf(ranges);
  const bytes: Buffer[] = new Array(spans.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let index = next++; index < spans.length; index = next++) {
      const span = spans[index];
      if (span) bytes[index] = await readSpan(deps, objectKey, span);
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, spans.length) }, worker));
  return ranges.map((range) => {
    const index = spans.findIndex((span) => range.start >= span.start && range.start + range.length <= span.start + span.length);
    const span = spans[index];
    const held = bytes[index];
    if (!span || !held) throw new Error('a proof range fell outside every span read');
    return held.subarray(range.start - span.start, range.start - span.start + range.length);
  });
}

/** The GETs that cover `ranges`: one if their whole span is small, else nearby ranges merged. */
export function spansOf(ranges: readonly ByteRange[]): ByteRange[] {
  const sorted = [...ranges].sort((a, b) => a.start - b.start);
  const first = sorted[0];
  if (!first) return [];
  const end = Math.max(...sorted.map((range) => range.start + range.length));
  if (end - first.start <= ONE_READ_SPAN) return [{ start: first.start, length: end - first.start }];
  const spans: { start: number; end: number }[] = [];
  for (const range of sorted) {
    const last = spans.at(-1);
    if (last && range.start <= last.end + MERGE_GAP) last.end = Math.max(last.end, range.start + range.length);
    else spans.push({ start: range.start, end: range.start + range.length });
  }
  return spans.map((span) => ({ start: span.start, length: span.end - span.start }));
}

async function readSpan(deps: Deps, objectKey: string, span: ByteRange): Promise<Buffer> {
  const stream = await deps.blobs.read(objectKey, span);
  // Only the sweeper removes a READY content's object: it is being deleted. Retryable.
  if (!stream) throw new BusyError('content_deleting', 'this content is being deleted; retry in a moment');
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  const bytes = Buffer.concat(chunks);
  if (bytes.length !== span.length) throw new Error(`storage returned ${bytes.length} bytes for a range of ${span.length}`);
  return bytes;
}

/** SHA-256 of the ranges' bytes, concatenated in the challenge's order. */
function digestOf(parts: readonly Uint8Array[]): Buffer {
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
): Promise<{ secret: Uint8Array; claims: ChallengeClaims; key: ChallengeKey }> {
  const secret = await deps.proofSecret();
  const claims = readClaims(secret, proof.token);
  if (claims.user !== userId || claims.contentId !== content.contentId || claims.size !== content.size) {
    throw new ProofError('challenge_mismatch', 'the challenge was issued for another request');
  }
  if (claims.expires < deps.now()) throw new ProofError('challenge_expired', 'the challenge expired; ask again');
  return { secret, claims, key: { userId, contentId: claims.contentId, size: claims.size, period: claims.period } };
}

/**
 * Checks an answer to a challenge issued for this request and counts it (both whatever storage
 * holds), then, if `stored` names the content's object, compares it with the object's ranges.
 * Refuses (403) a token that is not genuine, not this request's, expired or answered before, and
 * (429) an unmet challenge answered too often. Returns whether the answer proves ownership: never
 * without a stored object. A proof that succeeds meets its challenge.
 */
export async function checkAnswer(
  deps: Deps,
  userId: string,
  request: { readonly contentId: string; readonly size: number },
  proof: Proof,
  stored?: { readonly objectKey: string },
): Promise<boolean> {
  const { secret, claims, key } = await validClaims(deps, userId, request, proof);
  // Counted and consumed while the ranges are read: an answer is checked once, right or wrong.
  const [counted, fresh, parts] = await Promise.all([
    deps.catalog.countAnswer(key, MAX_ANSWERS),
    deps.catalog.consumeChallenge(userId, claims.nonce, claims.expires),
    stored ? readRanges(deps, stored.objectKey, challengeRanges(secret, key)) : undefined,
  ]);
  if (counted === 'limited') throw limited(deps, key.period);
  if (counted === 'unopened') throw new ProofError('challenge_expired', 'the challenge expired; ask again');
  if (!fresh) throw new ProofError('challenge_used', 'this challenge was answered already; ask again');
  if (!parts) return false;
  const expected = digestOf(parts);
  const given = Buffer.from(proof.sha256, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    deps.telemetry.metric('ProofFailures');
    deps.telemetry.log('warn', 'proof_failed', { contentId: request.contentId, size: request.size });
    return false;
  }
  await deps.catalog.closeChallenge(key);
  return true;
}

/**
 * Checks a proof for (user, content, size) against the stored object. Throws ProofError unless
 * the caller demonstrably holds the bytes.
 */
export async function verifyProof(
  deps: Deps,
  userId: string,
  content: { readonly contentId: string; readonly size: number; readonly objectKey: string },
  proof: Proof,
): Promise<void> {
  if (!(await checkAnswer(deps, userId, content, proof, content))) {
    throw new ProofError('proof_failed', 'the answer does not match the content');
  }
}

/**
 * A user whose own upload of a content verified has proven ownership better than any range
 * could: the challenge it was shown ('always' mode challenges misses too) is met. The upload may
 * have started in the previous period.
 */
export async function challengeMetByUpload(
  deps: Deps,
  userId: string,
  content: { readonly contentId: string; readonly size: number },
): Promise<void> {
  const period = periodOf(deps.settings, deps.now());
  await Promise.all([period, period - 1].map((each) => deps.catalog.closeChallenge({ userId, ...content, period: each })));
}
