import { monotonicFactory } from 'ulid';
import type { AttemptRecord, PushView } from '../../../workflows/push.messages';
import type { AttemptView } from '../../push-schemas';

/** What the push routes share: ids, times, the OpenAPI tag, and the views of attempts and events. */

export const newId = monotonicFactory();
export const iso = (ms: number) => new Date(ms).toISOString();
export const ms = (value: string | undefined) => (value === undefined ? undefined : Date.parse(value));
export const tags = ['push'];

export const attemptView = (a: AttemptRecord): AttemptView => ({
  attempt: a.attempt,
  at: iso(a.startedAt),
  durationMs: a.durationMs,
  status: a.status ?? null,
  error: a.error ?? null,
  outcome: a.outcome,
  responseExcerpt: a.responseExcerpt,
  ...(a.nextRetryMs === undefined ? {} : { nextRetryMs: a.nextRetryMs }),
});

export const eventOf = (view: PushView) => ({
  id: view.event.id,
  type: view.event.type,
  status: view.status,
  event: { ...view.event },
  orderingKey: view.orderingKey,
  deliverAt: view.deliverAt ? iso(view.deliverAt) : null,
  expiresAt: view.expiresAt ? iso(view.expiresAt) : null,
  deliveries: view.deliveries.map((d) => ({
    endpointId: d.endpointId,
    status: d.status,
    attempts: d.attempts.map(attemptView),
    pausedUntil: d.pausedUntil === null ? null : iso(d.pausedUntil),
    expiredAt: d.expiredAt ? iso(d.expiredAt) : null,
    droppedAt: d.droppedAt ? iso(d.droppedAt) : null,
    deadLetter: d.dead ? { reason: d.dead.reason, held: d.dead.held, at: iso(d.dead.at) } : null,
  })),
});

