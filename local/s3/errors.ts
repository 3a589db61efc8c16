/**
 * S3's refusals: an error code, its HTTP status and message as S3 sends them, in S3's XML error
 * body (`<Error><Code>…</Code><Message>…</Message>…<RequestId>…</RequestId></Error>`). The AWS
 * SDK names the error it throws after `Code`, and hashdrop's adapter and SDK decide on those names
 * and statuses, so both are S3's own (Amazon S3 API Reference, "Error responses").
 */
import { xmlDocument, xmlElement } from './xml.ts';

export class S3Error extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    /** Further elements S3 puts in the body (`Key`, `UploadId`, `Condition`, `X-Amz-Expires`...). */
    readonly details: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = code;
  }

  toXml(requestId: string): string {
    const details = Object.entries(this.details).map(([name, value]) => xmlElement(name, value));
    return xmlDocument(
      xmlElement('Error', [
        xmlElement('Code', this.code),
        xmlElement('Message', this.message),
        ...details,
        xmlElement('RequestId', requestId),
        xmlElement('HostId', requestId),
      ]),
    );
  }
}

/** The errors this server answers, by the code S3 uses for them. */
export const errors = {
  accessDenied: (message = 'Access Denied', details: Readonly<Record<string, string>> = {}) =>
    new S3Error('AccessDenied', 403, message, details),
  invalidAccessKeyId: (accessKeyId: string) =>
    new S3Error('InvalidAccessKeyId', 403, 'The AWS Access Key Id you provided does not exist in our records.', {
      AWSAccessKeyId: accessKeyId,
    }),
  signatureDoesNotMatch: (accessKeyId: string, signature: string) =>
    new S3Error(
      'SignatureDoesNotMatch',
      403,
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      { AWSAccessKeyId: accessKeyId, SignatureProvided: signature },
    ),
  /** An expired presigned URL: S3 answers 403 AccessDenied, not ExpiredToken (that is an expired session token). */
  requestExpired: (expiresSeconds: string, expires: Date, now: Date) =>
    new S3Error('AccessDenied', 403, 'Request has expired', {
      'X-Amz-Expires': expiresSeconds,
      Expires: expires.toISOString(),
      ServerTime: now.toISOString(),
    }),
  requestNotYetValid: () => new S3Error('AccessDenied', 403, 'Request is not valid yet'),
  requestTimeTooSkewed: (requestTime: Date, now: Date) =>
    new S3Error('RequestTimeTooSkewed', 403, 'The difference between the request time and the current time is too large.', {
      RequestTime: requestTime.toISOString(),
      ServerTime: now.toISOString(),
      MaxAllowedSkewMilliseconds: '900000',
    }),
  invalidToken: () => new S3Error('InvalidToken', 400, 'The provided token is malformed or otherwise invalid.'),
  authorizationHeaderMalformed: (message: string) => new S3Error('AuthorizationHeaderMalformed', 400, message),
  authorizationQueryParametersError: (message: string) => new S3Error('AuthorizationQueryParametersError', 400, message),
  contentSha256Mismatch: (provided: string, computed: string) =>
    new S3Error(
      'XAmzContentSHA256Mismatch',
      400,
      "The provided 'x-amz-content-sha256' header does not match what was computed.",
      {
        ClientComputedContentSHA256: provided,
        S3ComputedContentSHA256: computed,
      },
    ),
  badDigest: (algorithm: string) =>
    new S3Error('BadDigest', 400, `The ${algorithm} you specified did not match the calculated checksum.`),
  contentMd5Mismatch: () => new S3Error('BadDigest', 400, 'The Content-MD5 you specified did not match what we received.'),
  invalidDigest: () => new S3Error('InvalidDigest', 400, 'The Content-MD5 you specified was invalid.'),
  invalidRequest: (message: string) => new S3Error('InvalidRequest', 400, message),
  invalidArgument: (message: string, name?: string, value?: string) =>
    new S3Error('InvalidArgument', 400, message, name === undefined ? {} : { ArgumentName: name, ArgumentValue: value ?? '' }),
  incompleteBody: () =>
    new S3Error('IncompleteBody', 400, 'You did not provide the number of bytes specified by the Content-Length HTTP header.'),
  missingContentLength: () => new S3Error('MissingContentLength', 411, 'You must provide the Content-Length HTTP header.'),
  entityTooLarge: (size: number, max: number) =>
    new S3Error('EntityTooLarge', 400, 'Your proposed upload exceeds the maximum allowed size', {
      ProposedSize: String(size),
      MaxSizeAllowed: String(max),
    }),
  entityTooSmall: (size: number, min: number) =>
    new S3Error('EntityTooSmall', 400, 'Your proposed upload is smaller than the minimum allowed size', {
      ProposedSize: String(size),
      MinSizeAllowed: String(min),
    }),
  malformedXml: () =>
    new S3Error('MalformedXML', 400, 'The XML you provided was not well-formed or did not validate against our published schema'),
  noSuchBucket: (bucket: string) =>
    new S3Error('NoSuchBucket', 404, 'The specified bucket does not exist', { BucketName: bucket }),
  noSuchKey: (key: string) => new S3Error('NoSuchKey', 404, 'The specified key does not exist.', { Key: key }),
  noSuchUpload: (uploadId: string) =>
    new S3Error(
      'NoSuchUpload',
      404,
      'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
      { UploadId: uploadId },
    ),
  invalidPart: () =>
    new S3Error(
      'InvalidPart',
      400,
      "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
    ),
  invalidPartOrder: () =>
    new S3Error('InvalidPartOrder', 400, 'The list of parts was not in ascending order. Parts must be ordered by part number.'),
  preconditionFailed: (condition: string) =>
    new S3Error('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold', {
      Condition: condition,
    }),
  conditionalRequestConflict: () =>
    new S3Error(
      'ConditionalRequestConflict',
      409,
      'A conflicting conditional operation is currently in progress against this resource. Please try again.',
    ),
  invalidRange: (size: number) =>
    new S3Error('InvalidRange', 416, 'The requested range is not satisfiable', { ActualObjectSize: String(size) }),
  notImplemented: (what: string) =>
    new S3Error('NotImplemented', 501, `A header or query you provided implies functionality that is not implemented: ${what}`),
  methodNotAllowed: (method: string) =>
    new S3Error('MethodNotAllowed', 405, 'The specified method is not allowed against this resource.', {
      Method: method,
      ResourceType: 'OBJECT',
    }),
  corsForbidden: (method: string) =>
    new S3Error(
      'AccessForbidden',
      403,
      "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
      { Method: method, ResourceType: 'OBJECT' },
    ),
  badRequest: (message: string) => new S3Error('BadRequest', 400, message),
  internalError: () => new S3Error('InternalError', 500, 'We encountered an internal error. Please try again.'),
} as const;
