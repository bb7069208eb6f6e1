import { defineSignal } from '@temporalio/workflow';

/**
 * Asks a long-lived workflow to continue as new now. A worker that replays a workflow decodes its
 * current run's whole history, so a run started under an old codec key needs that key until it
 * ends; the new run's input is written under the first key. Jobs, queue and dead-letter indexes,
 * registries and catalogs handle it; a push ends by itself, or when its dead deliveries are
 * re-pushed or discarded.
 */
export const rewriteSignal = defineSignal('rewrite');
