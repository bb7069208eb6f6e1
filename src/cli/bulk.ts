import confirm from '@inquirer/confirm';
import { SingleBar, Presets } from 'cli-progress';
import type { z } from 'zod';
import type { bulkView, deadLetterView } from '../api/push-schemas';
import type { FerryApi } from './http';
import { ApiError } from './http';
import type { Output } from './output';

export interface DeadLetterFilters {
  endpoint?: string;
  type?: string;
  since?: string;
  until?: string;
  held?: boolean;
  limit?: number;
}

type Action = 'repush' | 'delete';
const VERB: Record<Action, { doing: string; done: string }> = {
  repush: { doing: 'Re-push', done: 're-pushed' },
  delete: { doing: 'Delete', done: 'deleted' },
};
/** Deliveries listed per round (the API's most) and acted on at once. */
const PAGE = 1000;
const CONCURRENCY = 8;

/** What a bulk action did; `stopped` when Ctrl-C ended it early. */
export interface BulkSummary {
  action: Action;
  planned: number;
  done: number;
  /** Deliveries that had left the dead letter by the time they were reached. */
  gone: number;
  failed: { eventId: string; endpointId: string; error: string }[];
  stopped: boolean;
}

/**
 * Re-pushes or deletes the push dead letter's deliveries that match the filters: the count first
 * (the API's dry run), then a confirmation unless `yes`, then event by event with a progress bar.
 * Acting on each event apart, rather than with one bulk call, is what lets the bar move and Ctrl-C
 * stop between events; every delivery is acted on once even while visibility still lists it.
 */
export async function bulkDeadLetter(api: FerryApi, out: Output, namespace: string, action: Action, filters: DeadLetterFilters, yes: boolean): Promise<BulkSummary> {
  const ns = encodeURIComponent(namespace);
  const body = { endpoint: filters.endpoint, type: filters.type, since: filters.since, until: filters.until, heldOnly: filters.held, limit: filters.limit };
  const { count: planned } = await api.queue<z.infer<typeof bulkView>>('POST', `/push/${ns}/deadletter/${action}`, { ...body, dryRun: true });
  const summary: BulkSummary = { action, planned, done: 0, gone: 0, failed: [], stopped: false };
  if (planned === 0) return summary;
  if (!yes) {
    if (!process.stdin.isTTY) throw new ApiError(0, `${planned} deliveries would be ${VERB[action].done}; pass --yes to go on without a terminal`);
    const go = await confirm({ message: `${VERB[action].doing} ${planned} dead-lettered deliveries in ${namespace}?`, default: false });
    if (!go) return { ...summary, stopped: true };
  }

  const bar = out.json ? undefined : new SingleBar({ format: `${VERB[action].doing} [{bar}] {value}/{total} {percentage}% | {eta_formatted} left`, hideCursor: true }, Presets.shades_classic);
  bar?.start(planned, 0);
  const onInterrupt = () => (summary.stopped = true);
  process.once('SIGINT', onInterrupt);
  const reached = new Set<string>();
  try {
    while (!summary.stopped && reached.size < planned) {
      const query = new URLSearchParams({ limit: String(Math.min(PAGE, planned - reached.size)) });
      for (const key of ['endpoint', 'type', 'since', 'until'] as const) if (filters[key]) query.set(key, filters[key]);
      if (filters.held) query.set('held', 'true');
      const { deliveries } = await api.queue<z.infer<typeof deadLetterView>>('GET', `/push/${ns}/deadletter?${query.toString()}`);
      const fresh = deliveries.filter((d) => !reached.has(`${d.eventId}\n${d.endpointId}`)).slice(0, planned - reached.size);
      if (fresh.length === 0) break;
      const byEvent = new Map<string, string[]>();
      for (const d of fresh) {
        reached.add(`${d.eventId}\n${d.endpointId}`);
        byEvent.set(d.eventId, [...(byEvent.get(d.eventId) ?? []), d.endpointId]);
      }
      const events = [...byEvent];
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          for (let next = events.shift(); next && !summary.stopped; next = events.shift()) {
            const [eventId, endpoints] = next;
            await actOn(api, ns, action, eventId, endpoints, summary);
            bar?.increment(endpoints.length);
          }
        }),
      );
    }
  } finally {
    process.removeListener('SIGINT', onInterrupt);
    bar?.stop();
  }
  return summary;
}

async function actOn(api: FerryApi, ns: string, action: Action, eventId: string, endpoints: string[], summary: BulkSummary): Promise<void> {
  const id = encodeURIComponent(eventId);
  try {
    const { count } =
      action === 'repush'
        ? await api.queue<{ count: number }>('POST', `/push/${ns}/events/${id}/repush`, { endpoints })
        : await api.queue<{ count: number }>('DELETE', `/push/${ns}/deadletter/${id}`, { endpoints });
    summary.done += count;
    summary.gone += endpoints.length - count;
  } catch (err) {
    // Re-pushed or deleted by someone else since it was listed: nothing left to do for it.
    if (err instanceof ApiError && (err.status === 404 || err.status === 409)) summary.gone += endpoints.length;
    else for (const endpointId of endpoints) summary.failed.push({ eventId, endpointId, error: err instanceof Error ? err.message : String(err) });
  }
}

/** The summary's lines for people. */
export function describeBulk(s: BulkSummary): string[] {
  const verb = VERB[s.action].done;
  if (s.planned === 0) return [`Nothing to do: no dead-lettered delivery matches.`];
  const lines = [`${s.done} of ${s.planned} deliveries ${verb}` + (s.gone ? `, ${s.gone} had already left the dead letter` : '') + (s.failed.length ? `, ${s.failed.length} failed` : '') + '.'];
  for (const f of s.failed.slice(0, 10)) lines.push(`  failed: event ${f.eventId} to ${f.endpointId}: ${f.error}`);
  if (s.stopped) lines.push(`Stopped before the end: ${s.planned - s.done - s.gone - s.failed.length} deliveries were not reached and stay in the dead letter.`);
  return lines;
}
