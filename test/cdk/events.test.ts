/**
 * File events in the template (issue 14 point 6, docs/events.md): the Files table's stream with
 * both images, the FileEvents function's event source mapping (where it starts, how it retries,
 * where a record that fails every attempt goes), and a role that may put events on its bus alone
 * and read the Files table's items with GetItem alone. In both variants, on a bus of the stack's
 * own or the default bus.
 */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { FILE_EVENTS } from '#deploy/definitions';
import { CONTEXT_KEYS, ContextError, stackPropsFromContext } from '../../lib/context.ts';
import { HashdropStack, type HashdropStackProps } from '../../lib/hashdrop-stack.ts';

interface Resource {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
}

function synth(props: HashdropStackProps = {}): Template {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  return Template.fromStack(new HashdropStack(app, 'Events', props));
}

const REST: HashdropStackProps = {
  api: 'rest',
  jwt: { issuer: 'https://issuer.example.com', audience: ['app'] },
  jwks: '{"keys":[{"kty":"EC"}]}',
};

const resourcesOf = (template: Template, type: string): [string, Resource][] =>
  Object.entries(template.findResources(type) as Record<string, Resource>);

function logicalId(template: Template, type: string, pattern: RegExp): string {
  const found = resourcesOf(template, type).find(([id]) => pattern.test(id));
  if (!found) throw new Error(`no ${type} matching ${pattern}`);
  return found[0];
}

/** Every statement of the policies attached to the FileEvents function's role. */
function statementsOfFunction(template: Template): { Action: string | string[]; Resource: unknown }[] {
  const fn = logicalId(template, 'AWS::Lambda::Function', new RegExp(`^${FILE_EVENTS.id}[0-9A-F]{8}$`));
  const role = ((template.toJSON().Resources[fn] as Resource).Properties.Role as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
  return resourcesOf(template, 'AWS::IAM::Policy')
    .filter(([, policy]) => (policy.Properties.Roles as { Ref: string }[]).some((entry) => entry.Ref === role))
    .flatMap(
      ([, policy]) =>
        (policy.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement,
    );
}

const actionsOf = (statement: { Action: string | string[] }) => [statement.Action].flat();

describe.each([
  ['the default stack', {}],
  ['the LocalStack variant', REST],
] as [string, HashdropStackProps][])('file events in %s', (_, props) => {
  const template = synth(props);

  it('the Files table has a stream with both images', () => {
    template.hasResourceProperties('AWS::DynamoDB::GlobalTable', {
      KeySchema: [
        { AttributeName: 'userId', KeyType: 'HASH' },
        { AttributeName: 'name', KeyType: 'RANGE' },
      ],
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
    });
  });

  it('the mapping starts at the trim horizon, bisects, reports item failures, and bounds its retries', () => {
    const queue = logicalId(template, 'AWS::SQS::Queue', new RegExp(`^${FILE_EVENTS.id}Failures`));
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Files'), 'StreamArn'] },
      FunctionName: { Ref: Match.stringLikeRegexp(`^${FILE_EVENTS.id}`) },
      StartingPosition: 'TRIM_HORIZON',
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      MaximumRetryAttempts: 10,
      // Given up at 6 hours, not at the stream's 24-hour retention: the queue holds where the
      // records are, and the replay reads them back from the stream for the 18 hours left.
      MaximumRecordAgeInSeconds: 6 * 60 * 60,
      DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queue, 'Arn'] } } },
    });
    // The failure queue is watched, and given to the operator.
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } }],
    });
    template.hasOutput('FileEventsFailureQueueUrl', { Value: { Ref: queue } });
  });

  it('the function may put events on its bus only, and read Files items with GetItem only', () => {
    const bus = logicalId(template, 'AWS::Events::EventBus', /^FileEventsBus/);
    const statements = statementsOfFunction(template);
    const put = statements.filter((statement) => actionsOf(statement).includes('events:PutEvents'));
    expect(put).toEqual([expect.objectContaining({ Action: 'events:PutEvents', Resource: { 'Fn::GetAtt': [bus, 'Arn'] } })]);
    const items = statements.filter((statement) => actionsOf(statement).some((action) => action.endsWith('Item')));
    expect(items.map((statement) => [statement.Action, JSON.stringify(statement.Resource)])).toEqual([
      ['dynamodb:GetItem', expect.stringMatching(/^\{"Fn::GetAtt":\["Files[0-9A-F]{8}","Arn"\]\}$/)],
    ]);
    const every = statements.flatMap(actionsOf);
    expect(
      every.filter((action) => /^(dynamodb:(Put|Update|Delete|BatchWrite|Query|Scan)|s3:|secretsmanager:)/.test(action)),
    ).toEqual([]);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ [FILE_EVENTS.busEnvVar]: { Ref: bus } }) },
    });
    template.hasOutput('EventBusName', { Value: { Ref: bus } });
  });
});

describe('the event bus from context', () => {
  it('`default` puts events on the account’s default bus, and the stack creates none', () => {
    const template = synth({ eventBus: 'default' });
    template.resourceCountIs('AWS::Events::EventBus', 0);
    const put = statementsOfFunction(template).filter((statement) => actionsOf(statement).includes('events:PutEvents'));
    expect(put).toHaveLength(1);
    expect(JSON.stringify(put[0]?.Resource)).toContain(':event-bus/default');
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ [FILE_EVENTS.busEnvVar]: 'default' }) },
    });
  });

  it('hashdrop:eventBus is parsed into the stack prop; a malformed one fails the synthesis', () => {
    const node = (value: unknown) => new App({ context: value === undefined ? {} : { [CONTEXT_KEYS.eventBus]: value } }).node;
    expect(stackPropsFromContext(node('default'), {}).eventBus).toBe('default');
    expect(stackPropsFromContext(node('shared-bus'), {}).eventBus).toBe('shared-bus');
    expect(stackPropsFromContext(node(undefined), {})).not.toHaveProperty('eventBus');
    expect(() => stackPropsFromContext(node('no spaces'), {})).toThrow(ContextError);
  });
});
