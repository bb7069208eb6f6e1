import { status } from '@grpc/grpc-js';
import { isGrpcServiceError, ServiceError, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';

/** How the services tell Temporal's answers apart: one place, named gRPC codes. */

/** The workflow does not exist (or its run ended and the call needed a running one). */
export function isNotFound(err: unknown): boolean {
  return err instanceof WorkflowNotFoundError || (err instanceof Error && err.cause instanceof WorkflowNotFoundError);
}

/** Rethrows anything but a not-found. */
export function ignoreNotFound(err: unknown): void {
  if (!isNotFound(err)) throw err;
}

/** An update its validator or handler refused with an ApplicationFailure of `type`. */
export function isFailureOfType(err: unknown, type: string): err is WorkflowUpdateFailedError & { cause: ApplicationFailure } {
  return err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure && err.cause.type === type;
}

/** An update its workflow refused (validator or handler), whatever the reason. */
export const isRejectedUpdate = (err: unknown): err is WorkflowUpdateFailedError => err instanceof WorkflowUpdateFailedError;

/** The gRPC code of the first gRPC error in `err`'s cause chain. */
export function grpcCodeOf(err: unknown): status | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) if (isGrpcServiceError(e)) return e.code;
  return undefined;
}

/**
 * The server aborted the update without applying it, because the workflow task that carried it
 * failed on the server's side (WorkflowNotReady, gRPC FAILED_PRECONDITION). On a queue's index
 * this happens when its continue-as-new meets a signal or update that arrived during the task
 * (UNHANDLED_COMMAND): the server rejects the whole completion and aborts every update in it. The
 * next workflow task takes a new request normally. The server refuses an update the same way while
 * the workflow's task keeps failing.
 */
export function isUnappliedUpdate(err: unknown): boolean {
  return err instanceof ServiceError && isGrpcServiceError(err.cause) && err.cause.code === status.FAILED_PRECONDITION;
}

/**
 * gRPC codes that mean Temporal failed or is down or overloaded, not that the request was wrong: the
 * client should retry (a publish with the same Idempotency-Key). A saturated server can answer
 * CANCELLED or INTERNAL when its own persistence call is cut ("context canceled"), and an
 * overloaded one ABORTED; a 500 for those told clients the request itself was at fault. An update
 * the server aborted unapplied answers FAILED_PRECONDITION: a lease then took no job, and a retry
 * gets a new workflow task.
 */
const UNAVAILABLE_CODES: ReadonlySet<status> = new Set([
  status.CANCELLED,
  status.UNKNOWN,
  status.DEADLINE_EXCEEDED,
  status.RESOURCE_EXHAUSTED,
  status.FAILED_PRECONDITION,
  status.ABORTED,
  status.INTERNAL,
  status.UNAVAILABLE,
]);

/** The code of a failure the caller should retry later, if `err` is one. */
export function unavailableCodeOf(err: unknown): status | undefined {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (isGrpcServiceError(e) && UNAVAILABLE_CODES.has(e.code)) return e.code;
  }
  return undefined;
}

/** Of those, the ones that may hide a fault retrying will not cure: an operator should see them. */
export const mayHideFault = (code: status): boolean => code === status.UNKNOWN || code === status.FAILED_PRECONDITION || code === status.INTERNAL;
