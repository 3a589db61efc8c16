// One deployed function's bundle in a worker thread of its own, with the environment Lambda
// would give it (the worker's own process.env): as in Lambda, the bundle's `handler` builds its
// dependencies from that environment on the first invocation and keeps them for the next ones.
import { randomUUID } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';

const { bundle, functionName } = workerData;
const { handler } = await import(bundle);

function context() {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

parentPort.on('message', async ({ id, event }) => {
  try {
    parentPort.postMessage({ id, result: await handler(event, context()) });
  } catch (error) {
    parentPort.postMessage({ id, error: { name: error?.name, message: error?.message, stack: error?.stack } });
  }
});
parentPort.postMessage({ ready: true });
