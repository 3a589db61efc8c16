/** The AWS SDK clients of one function, built once per cold start so that connections are reused. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AwsClientConfig } from './config.ts';

/** Only what the config sets: anything absent is left to the SDK's own chain (the Lambda role, AWS_ENDPOINT_URL_*). */
export function clientBase(aws: Pick<AwsClientConfig, 'region' | 'credentials'>, endpoint?: string) {
  return {
    ...(aws.region ? { region: aws.region } : {}),
    ...(aws.credentials ? { credentials: aws.credentials } : {}),
    ...(endpoint ? { endpoint } : {}),
  };
}

export function createDocumentClient(aws: AwsClientConfig = { s3ForcePathStyle: false }): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient(clientBase(aws, aws.endpoints?.dynamodb)), {
    marshallOptions: { removeUndefinedValues: true },
  });
}

export function createS3Client(aws: AwsClientConfig = { s3ForcePathStyle: false }): S3Client {
  return new S3Client({
    ...clientBase(aws, aws.endpoints?.s3),
    forcePathStyle: aws.s3ForcePathStyle,
    // We sign every checksum ourselves (the block's SHA-256). Left to WHEN_SUPPORTED, the SDK
    // adds a CRC32 of its own to requests and to presigned URLs, which then no client can match.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
