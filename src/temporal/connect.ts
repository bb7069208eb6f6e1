import type { ConnectionOptions } from '@temporalio/client';
import { Client, Connection, defaultGrpcRetryOptions, makeGrpcRetryInterceptor } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { NativeConnection } from '@temporalio/worker';

type GrpcInterceptor = NonNullable<ConnectionOptions['interceptors']>[number];

/**
 * The SDK's gRPC retry, held to each call's deadline. On its own it sleeps up to 6 s between
 * attempts without looking at the deadline, so a publish to an unreachable Temporal, with its 5-s
 * deadline, answered a whole sleep late (over 10 s once in CI). Here the last sleep ends at the deadline
 * and the call fails there: with DEADLINE_EXCEEDED, or with UNAVAILABLE when the timer fired a
 * millisecond early and one more attempt was refused. Both answer a 503.
 */
export function retryWithinDeadline(): GrpcInterceptor {
  const sdk = defaultGrpcRetryOptions();
  return (options, nextCall) => {
    const deadline = options.deadline === undefined ? Infinity : Number(options.deadline);
    return makeGrpcRetryInterceptor({
      retryableDecider: (attempt, status) => Date.now() < deadline && sdk.retryableDecider(attempt, status),
      delayFunction: (attempt, status) => Math.min(sdk.delayFunction(attempt, status), Math.max(0, deadline - Date.now())),
    })(options, nextCall);
  };
}

/** One client connection per process, shared by every request; its payloads pass through `dataConverter`'s codec. */
export async function connectClient(
  address: string,
  namespace: string,
  dataConverter: DataConverter,
): Promise<{ client: Client; connection: Connection }> {
  const connection = await Connection.connect({ address, interceptors: [retryWithinDeadline()] });
  return { client: new Client({ connection, namespace, dataConverter }), connection };
}

export function connectWorker(address: string): Promise<NativeConnection> {
  return NativeConnection.connect({ address });
}
