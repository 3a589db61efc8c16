/**
 * The operator's erase-user function in the synthesized template: exactly the grants its work
 * needs (a user's cancels and deletes, exports under exports/ only), Lambda's longest timeout, an
 * output naming it, and nothing that reaches it but a direct invocation.
 */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { ERASE_USER } from '#deploy/definitions';
import { HashdropStack } from '../../lib/hashdrop-stack.ts';

type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

function synth(props: { api?: 'http' | 'rest' } = {}): Template {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  return Template.fromStack(new HashdropStack(app, 'Test', props));
}

function functionOf(template: Template): { logicalId: string; properties: Record<string, unknown> } {
  const functions = template.findResources('AWS::Lambda::Function');
  const logicalId = Object.keys(functions).find((id) => id.startsWith(ERASE_USER.id) && !id.includes('Logs'));
  const fn = logicalId ? functions[logicalId] : undefined;
  if (!logicalId || !fn) throw new Error(`no function ${ERASE_USER.id}`);
  return { logicalId, properties: fn.Properties as Record<string, unknown> };
}

function statementsOf(template: Template): Statement[] {
  const roleRef = (functionOf(template).properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(roleRef))
    .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
}

const actionsOf = (statement: Statement): string[] => (Array.isArray(statement.Action) ? statement.Action : [statement.Action]);

/** A statement's resources as text: enough to tell `…/blobs/*` from `…/exports/*` and the tables apart. */
const resourcesOf = (statement: Statement): string => JSON.stringify(statement.Resource);

describe('EraseUser', () => {
  const template = synth();

  it('runs up to Lambda’s 15 minutes, and the stack names it in an output', () => {
    const { logicalId, properties } = functionOf(template);
    expect(properties.Timeout).toBe(900);
    template.hasOutput('EraseUserFunctionName', { Value: { Ref: logicalId } });
  });

  it('may write and read objects under exports/ only, abort uploads under blobs/, never delete or list objects', () => {
    const statements = statementsOf(template);
    const s3 = statements.filter((statement) => actionsOf(statement).some((action) => action.startsWith('s3:')));
    const exportGrant = s3.find((statement) => resourcesOf(statement).includes('/exports/*'));
    expect(exportGrant && actionsOf(exportGrant).sort()).toEqual(['s3:GetObject', 's3:PutObject']);
    const blobGrant = s3.find((statement) => resourcesOf(statement).includes('/blobs/*'));
    expect(blobGrant && actionsOf(blobGrant).sort()).toEqual([
      's3:AbortMultipartUpload',
      's3:ListMultipartUploadParts',
      's3:PutObject',
    ]);
    expect(s3).toHaveLength(2);
    const all = statements.flatMap(actionsOf);
    expect(all).not.toContain('s3:DeleteObject');
    expect(all).not.toContain('s3:ListBucket');
    expect(all.filter((action) => action.includes('*'))).toEqual([]);
    // No Limits table, no proof secret: it counts nothing and checks no proof.
    expect(JSON.stringify(statements)).not.toMatch(/Limits|ProofSecret|secretsmanager/);
  });

  it('writes the catalog tables it erases from (and their indexes), nothing else in DynamoDB', () => {
    const dynamo = statementsOf(template).filter((statement) =>
      actionsOf(statement).some((action) => action.startsWith('dynamodb:')),
    );
    expect(dynamo.flatMap(actionsOf)).toEqual(
      expect.arrayContaining(['dynamodb:DeleteItem', 'dynamodb:Query', 'dynamodb:UpdateItem']),
    );
    const tables = new Set(
      dynamo
        .map(resourcesOf)
        .join(' ')
        .match(/"(Contents|Files|Limits)[0-9A-F]*"/g),
    );
    expect([...tables].map((table) => table.replace(/[0-9A-F]*"$/, '').replace('"', '')).sort()).toEqual(['Contents', 'Files']);
  });

  it('is reached by no API route, event source, schedule or resource policy, in either API variant', () => {
    for (const variant of [template, synth({ api: 'rest' })]) {
      const { logicalId } = functionOf(variant);
      const reachedBy = (type: string) =>
        Object.values(variant.findResources(type)).filter((resource) => JSON.stringify(resource).includes(`"${logicalId}"`));
      expect(reachedBy('AWS::Lambda::Permission')).toEqual([]);
      expect(reachedBy('AWS::Lambda::EventSourceMapping')).toEqual([]);
      expect(reachedBy('AWS::Events::Rule')).toEqual([]);
      expect(reachedBy('AWS::ApiGatewayV2::Integration')).toEqual([]);
      expect(reachedBy('AWS::ApiGateway::Method')).toEqual([]);
    }
  });

  it('the bucket expires exports after a week', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([
          Match.objectLike({ Id: 'expire-user-exports', Prefix: 'exports/', ExpirationInDays: 7, Status: 'Enabled' }),
        ]),
      },
    });
  });
});
