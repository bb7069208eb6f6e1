import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import { rewriteSignal } from '../workflows/rewrite.messages';
import { ENCRYPTED_ENCODING, FerryPayloadCodec, KEY_ID_METADATA } from './payload-codec';
import { ignoreNotFound } from './temporal-errors';
import { RUNNING } from './visibility';

/** A running workflow, as visibility lists it. */
export interface RunningWorkflow {
  workflowId: string;
  runId: string;
  type: string;
}

/** Which codec keys the running workflows' current runs need. */
export interface KeyUsage {
  /** Running workflows scanned. */
  running: number;
  /** For each key id, the workflows with at least one payload under it. */
  byKey: Record<string, RunningWorkflow[]>;
  /** Workflows with payloads written in clear (before the codec). */
  plain: RunningWorkflow[];
}

/** Pushes end by themselves, or when their dead deliveries are re-pushed or discarded; every other Ferry workflow handles `rewriteSignal`. */
export const rewritable = (w: RunningWorkflow): boolean => w.type !== 'PushWorkflow';

type Payload = temporal.api.common.v1.IPayload;
// Payloads are the only messages in a history with both fields.
const isPayload = (value: object): value is Payload => 'metadata' in value && 'data' in value;
const text = (bytes: Uint8Array | undefined) => (bytes ? Buffer.from(bytes).toString('utf8') : undefined);

/**
 * The key id of every payload in a history: `null` for one in clear. Headers and search attributes
 * are skipped, as the codec skips them.
 */
export function payloadKeyIds(history: temporal.api.history.v1.IHistory): Set<string | null> {
  const ids = new Set<string | null>();
  const visit = (value: unknown, field: string): void => {
    if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return;
    if (field === 'header' || field === 'searchAttributes') return;
    if (isPayload(value)) {
      const metadata = value.metadata ?? {};
      ids.add(text(metadata.encoding) === ENCRYPTED_ENCODING ? (text(metadata[KEY_ID_METADATA]) ?? '') : null);
      return;
    }
    if (Array.isArray(value)) return value.forEach((item) => visit(item, field));
    for (const [key, inner] of Object.entries(value)) visit(inner, key);
  };
  for (const event of history.events ?? []) visit(event, 'event');
  return ids;
}

/**
 * Reads the history of every running workflow's current run (what a worker must decode to replay
 * it, and the API to read its memo) and says which key ids they use. Needs no key: key ids are
 * stored in clear beside each payload.
 */
export async function scanKeyUsage(client: Client, onScanned: (scanned: number) => void = () => undefined): Promise<KeyUsage> {
  const usage: KeyUsage = { running: 0, byKey: {}, plain: [] };
  const pending = new Set<Promise<void>>();
  for await (const info of client.workflow.list({ query: RUNNING })) {
    const workflow: RunningWorkflow = { workflowId: info.workflowId, runId: info.runId, type: info.type };
    const scan = client.workflow
      .getHandle(workflow.workflowId, workflow.runId)
      .fetchHistory()
      .then((history) => {
        for (const id of payloadKeyIds(history)) {
          if (id === null) usage.plain.push(workflow);
          else (usage.byKey[id] ??= []).push(workflow);
        }
        onScanned(++usage.running);
      })
      // Ended between the listing and the read: it needs no key any more.
      .catch(ignoreNotFound)
      .finally(() => pending.delete(scan));
    pending.add(scan);
    if (pending.size >= SCAN_CONCURRENCY) await Promise.race(pending);
  }
  await Promise.all(pending);
  return usage;
}

const SCAN_CONCURRENCY = 16;

/** The workflows that need a key other than `firstKeyId`, or hold payloads in clear: those a rewrite moves to the first key. */
export function staleWorkflows(usage: KeyUsage, firstKeyId: string): RunningWorkflow[] {
  const stale = [...Object.entries(usage.byKey).filter(([id]) => id !== firstKeyId).flatMap(([, workflows]) => workflows), ...usage.plain];
  return [...new Map(stale.map((w) => [w.runId, w])).values()];
}

/**
 * Asks each workflow to continue as new, which writes its state under the workers' first key.
 * Returns how many were asked (one that ended meanwhile is skipped).
 */
export async function rewriteWorkflows(client: Client, workflows: RunningWorkflow[]): Promise<number> {
  let asked = 0;
  for (const w of workflows) {
    try {
      await client.workflow.getHandle(w.workflowId, w.runId).signal(rewriteSignal);
      asked++;
    } catch (err) {
      ignoreNotFound(err);
    }
  }
  return asked;
}

/**
 * A key id that a workflow's current run uses and `client`'s codec does not have: why a worker
 * cannot replay it (its tasks fail, its queries and updates go unanswered). Undefined when every key
 * is there.
 */
export async function missingCodecKey(client: Client, workflowId: string): Promise<string | undefined> {
  const codec = client.options.loadedDataConverter.payloadCodecs.find((c) => c instanceof FerryPayloadCodec);
  if (!codec) return undefined;
  const ids = payloadKeyIds(await client.workflow.getHandle(workflowId).fetchHistory());
  return [...ids].find((id): id is string => id !== null && !codec.has(id));
}
