import { Command } from 'commander';
import type { StatusView } from '../../api/routes/status';
import { ApiError } from '../http';
import { contextOf } from './context';
import { Output } from '../output';

/** `ferry status`: whether the APIs, Temporal and workers run, and the sizes that need attention. */
export function statusCommand(): Command {
  return new Command('status')
    .description('what runs (queue API, admin API, Temporal, workers) and what needs attention (dead letters, held deliveries)')
    .action(async (_options: object, command: Command) => {
      const { api, out } = contextOf(command);
      const queueApi = await api.queue('GET', '/openapi.json').then(() => 'up', (err: unknown) => (err instanceof ApiError ? err.message : String(err)));
      const status = await api.admin<StatusView>('GET', '/status');
      const polled = status.taskQueues.filter((t) => t.pollers.length > 0);
      const healthy = queueApi === 'up' && status.temporal.reachable && polled.length === status.taskQueues.length;
      out.show({ queueApi, ...status, healthy }, (s) => [
        `queue API: ${s.queueApi}`,
        `admin API: up (Ferry ${s.version})`,
        `Temporal: ${s.temporal.reachable ? 'reachable' : `not reachable: ${s.temporal.error ?? ''}`}`,
        ...s.taskQueues.map((t) => `workers on ${t.taskQueue} (${t.kind}): ${t.pollers.length ? t.pollers.map((p) => `${p.identity} (last poll ${p.lastAccessTime ?? '?'})`).join(', ') : 'NONE POLLING'}`),
        '',
        Output.table(s.queues.filter((q) => q.dead > 0), ['namespace', 'queue', 'ready', 'dead'], 'No queue has dead jobs.'),
        '',
        Output.table(s.push.filter((p) => p.dead > 0), ['namespace', 'endpoint', 'dead', 'held'], 'No endpoint has dead or held deliveries.'),
      ]);
      if (!healthy) process.exitCode = 1;
    });
}
