import type { Client } from '@temporalio/client';
import { FerryStateSince, jobWorkflowId } from '../workflows/ids';
import type { IndexEntry } from '../workflows/ordered-index.messages';
import { allOf, literal, RUNNING } from '../temporal/visibility';

/** The jobs of one queue in one state whose state began within [from, to] (ms since the epoch). */
export interface IndexSpan {
  namespace: string;
  queue: string;
  state: 'ready' | 'dead';
  from: number;
  to: number;
}

/** Visibility query for a span; every filter is on an indexed search attribute. */
function spanQuery({ namespace, queue, state, from, to }: IndexSpan): string {
  return allOf(
    `FerryNamespace = ${literal(namespace)}`,
    `FerryQueue = ${literal(queue)}`,
    `FerryState = ${literal(state)}`,
    `FerryStateSince >= ${from}`,
    `FerryStateSince <= ${to}`,
    RUNNING,
  );
}

/** Lists a spilled span back from visibility, in index order. */
export async function listIndexSpan(client: Client, span: IndexSpan): Promise<IndexEntry[]> {
  const prefix = jobWorkflowId(span.namespace, span.queue, '');
  const entries: IndexEntry[] = [];
  for await (const execution of client.workflow.list({ query: spanQuery(span) })) {
    const since = execution.typedSearchAttributes.get(FerryStateSince);
    if (typeof since !== 'number' || !execution.workflowId.startsWith(prefix)) continue;
    // Epoch 0: any later signal about the job (which carries its real epoch) supersedes this entry.
    entries.push({ jobId: execution.workflowId.slice(prefix.length), epoch: 0, since });
  }
  return entries.sort((a, b) => a.since - b.since || (a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : 0));
}
