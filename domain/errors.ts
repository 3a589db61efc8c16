/**
 * Typed domain errors. Each carries a stable `code` that clients may switch on and a `kind` that
 * the HTTP edge maps to a status in one place (lambdas/http.ts). The domain knows nothing of HTTP.
 */

export type ErrorKind =
  | 'invalid' // the request is malformed or breaks a rule: 400
  | 'unauthenticated' // 401
  | 'forbidden' // authenticated, but not allowed (a failed proof of ownership): 403
  | 'not_found' // 404
  | 'conflict' // the request clashes with the current state: 409
  | 'too_large' // 413
  | 'limited' // too many attempts of this kind for now; retry after `details.retryAfterSeconds`: 429
  | 'busy'; // transient contention; retry: 503

export class DomainError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DomainError';
  }
}

export class ValidationError extends DomainError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super('invalid', code, message, details);
    this.name = 'ValidationError';
  }
}

export class NotFoundError extends DomainError {
  constructor(code: string, message: string) {
    super('not_found', code, message);
    this.name = 'NotFoundError';
  }
}

export class ConflictError extends DomainError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super('conflict', code, message, details);
    this.name = 'ConflictError';
  }
}

export class BusyError extends DomainError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super('busy', code, message, undefined, options);
    this.name = 'BusyError';
  }
}

/** A limit on attempts over a period was reached: nothing was done, and asking again before `retryAfterSeconds` is refused too. */
export class LimitedError extends DomainError {
  constructor(code: string, message: string, retryAfterSeconds: number) {
    super('limited', code, message, { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterSeconds)) });
    this.name = 'LimitedError';
  }
}

export class QuotaExceededError extends DomainError {
  constructor(quotaBytes: number, usedBytes: number, requestedBytes: number) {
    super('too_large', 'quota_exceeded', `this upload needs ${requestedBytes} bytes; ${quotaBytes - usedBytes} are left`, {
      quotaBytes,
      usedBytes,
      requestedBytes,
    });
    this.name = 'QuotaExceededError';
  }
}

/**
 * Raised by a store when a conditional write lost a race (DynamoDB ConditionalCheckFailed or a
 * cancelled transaction). Domain operations re-read and retry; it never reaches a caller as is.
 */
export class StaleWriteError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StaleWriteError';
  }
}

/**
 * A write that lost no race on the state it read but met other writes at the same moment:
 * DynamoDB cancelled its transaction for a conflict (TransactionConflict: another transaction was
 * changing one of its items, e.g. the user's usage item or a popular content's refCount) or
 * throttled it. Nothing was written; the same write may succeed after a pause. Stores retry it a
 * few times with backoff before raising this; being a StaleWriteError, the domain then re-reads
 * and decides again (withRetries), after a backoff of its own.
 */
export class ContentionError extends StaleWriteError {
  constructor(
    readonly reason: 'conflict' | 'throttled',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ContentionError';
  }
}

/**
 * Some file events were not delivered (EventBridge refused entries, a webhook answered an error, or
 * the request failed): `failedEventIds` are those not known to be delivered, in order. The stream
 * handler retries the changes they report; the other events went out.
 */
export class EventDeliveryError extends Error {
  constructor(
    readonly failedEventIds: readonly string[],
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'EventDeliveryError';
  }
}
