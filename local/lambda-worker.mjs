// One deployed function's bundle in a worker thread of its own, with the environment Lambda
// would give it (the worker's own process.env): as in Lambda, the bundle's `handler` builds its
// dependencies from that environment on the first invocation and keeps them for the next ones.
import { parentPort, workerData } from 'node:worker_threads';

const { bundle } = workerData;
const { handler } = await import(bundle);

// The invocation's context comes from the stack (local/http-adapter.ts lambdaContext) without its
// methods, which cannot cross threads; they are restored here.
const withMethods = (fields) => ({
  ...fields,
  getRemainingTimeInMillis: () => 30_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
});

parentPort.on('message', async ({ id, event, context }) => {
  try {
    parentPort.postMessage({ id, result: await handler(event, withMethods(context)) });
  } catch (error) {
    parentPort.postMessage({ id, error: { name: error?.name, message: error?.message, stack: error?.stack } });
  }
});
parentPort.postMessage({ ready: true });
