import { Command, Option } from 'commander';
import type { z } from 'zod';
import type { deadLetterView, endpointListView, endpointView, enabledView, eventView, traceView } from '../../api/push-schemas';
import type { DeadLetterFilters } from '../bulk';
import { bulkDeadLetter, describeBulk } from '../bulk';
import { contextOf, seg, wholeNumber } from './context';
import { Output } from '../output';

type EndpointView = z.infer<typeof endpointView>;

/** Where an endpoint's deliveries go: its URL, or its queue. */
const destinationOf = (e: EndpointView): string => e.url ?? `queue ${e.queue?.name}`;

const describeEndpoint = (e: EndpointView): string[] => [
  `${e.id}: ${destinationOf(e)} (${e.enabled ? 'enabled' : `disabled${e.disabledReason ? `: ${e.disabledReason}` : ''}`}, ${e.health.state})`,
  `  event types: ${e.eventTypes.join(' ')}`,
  `  retries after: ${e.retryDelaysMs.map((ms) => `${ms / 1000} s`).join(', ') || 'none'}; timeout ${e.timeoutMs} ms; ordering ${e.ordering ? 'on' : 'off'}`,
];

/** Filter options of the push dead letter, shared by list, repush and delete. */
function withFilters(command: Command): Command {
  return command
    .option('--endpoint <id>', 'deliveries to this endpoint')
    .option('--type <type>', 'events of this type')
    .option('--since <iso-time>', 'failed at or after')
    .option('--until <iso-time>', 'failed at or before')
    .option('--held', 'only deliveries held for a disabled endpoint')
    .addOption(new Option('--limit <n>', 'at most this many').argParser(wholeNumber));
}

/** `ferry push`: endpoints, events and the push dead letter (with --token). */
export function pushCommands(): Command {
  const push = new Command('push').description('webhook push: endpoints, events, dead letter');
  const endpoints = push.command('endpoints').description("a namespace's endpoints");
  endpoints
    .command('list <namespace>')
    .action(async (namespace: string, _options: object, command: Command) => {
      const { api, out } = contextOf(command);
      const listed = await api.queue<z.infer<typeof endpointListView>>('GET', `/push/${seg(namespace)}/endpoints`);
      out.show(listed, (l) =>
        Output.table(
          l.endpoints.map((e) => ({ id: e.id, url: destinationOf(e), enabled: e.enabled ? 'yes' : 'no', health: e.health.state, types: e.eventTypes.join(' ') })),
          ['id', 'url', 'enabled', 'health', 'types'],
          `No endpoints in ${namespace}.`,
        ),
      );
    });
  endpoints.command('show <namespace> <id>').action(async (namespace: string, id: string, _options: object, command: Command) => {
    const { api, out } = contextOf(command);
    out.show(await api.queue<EndpointView>('GET', `/push/${seg(namespace)}/endpoints/${seg(id)}`), describeEndpoint);
  });
  endpoints
    .command('enable <namespace> <id>')
    .description('enable an endpoint; its held deliveries go out again unless --keep-held')
    .option('--keep-held', 'leave held deliveries in the dead letter')
    .action(async (namespace: string, id: string, options: { keepHeld?: boolean }, command: Command) => {
      const { api, out } = contextOf(command);
      const enabled = await api.queue<z.infer<typeof enabledView>>('POST', `/push/${seg(namespace)}/endpoints/${seg(id)}/enable`, { replayHeld: !options.keepHeld });
      out.show(enabled, (e) => [`Enabled ${id}; ${e.replayed} held deliveries re-pushed.`]);
    });
  endpoints
    .command('disable <namespace> <id>')
    .description('disable an endpoint: its deliveries are held until it is enabled')
    .option('--reason <text>', 'why, shown with the endpoint')
    .action(async (namespace: string, id: string, options: { reason?: string }, command: Command) => {
      const { api, out } = contextOf(command);
      const disabled = await api.queue<EndpointView>('POST', `/push/${seg(namespace)}/endpoints/${seg(id)}/disable`, options.reason ? { reason: options.reason } : {});
      out.show(disabled, describeEndpoint);
    });

  const events = push.command('events').description('events and their deliveries');
  events.command('show <namespace> <id>').action(async (namespace: string, id: string, _options: object, command: Command) => {
    const { api, out } = contextOf(command);
    const event = await api.queue<z.infer<typeof eventView>>('GET', `/push/${seg(namespace)}/events/${seg(id)}`);
    out.show(event, (e) => [
      `${e.id} (${e.type}), ${e.status}`,
      Output.table(
        e.deliveries.map((d) => ({
          endpoint: d.endpointId,
          status: d.status,
          attempts: d.attempts.length,
          dead: d.deadLetter ? `${d.deadLetter.held ? 'held' : 'dead'}: ${d.deadLetter.reason}` : '',
        })),
        ['endpoint', 'status', 'attempts', 'dead'],
        'No deliveries.',
      ),
    ]);
  });
  events
    .command('trace <namespace> <id>')
    .description('every attempt of every delivery, in order')
    .action(async (namespace: string, id: string, _options: object, command: Command) => {
      const { api, out } = contextOf(command);
      const trace = await api.queue<z.infer<typeof traceView>>('GET', `/push/${seg(namespace)}/events/${seg(id)}/trace`);
      out.show(trace, (t) =>
        Output.table(
          t.attempts.map((a) => ({ at: a.at, endpoint: a.endpointId, attempt: a.attempt, outcome: a.outcome, status: a.status, ms: a.durationMs, error: a.error })),
          ['at', 'endpoint', 'attempt', 'outcome', 'status', 'ms', 'error'],
          'No attempts yet.',
        ),
      );
    });

  const dead = push.command('deadletter').description('the push dead letter: failed and held deliveries');
  withFilters(dead.command('list <namespace>')).action(async (namespace: string, filters: DeadLetterFilters, command: Command) => {
    const { api, out } = contextOf(command);
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(filters)) if (value !== undefined) query.set(key, String(value));
    const listed = await api.queue<z.infer<typeof deadLetterView>>('GET', `/push/${seg(namespace)}/deadletter?${query.toString()}`);
    out.show(listed, (l) =>
      Output.table(
        l.deliveries.map((d) => ({ event: d.eventId, type: d.type, endpoint: d.endpointId, held: d.held ? 'yes' : '', failed: d.failedAt, reason: d.reason })),
        ['event', 'type', 'endpoint', 'held', 'failed', 'reason'],
        'The dead letter holds no such delivery.',
      ),
    );
  });
  for (const action of ['repush', 'delete'] as const) {
    withFilters(dead.command(`${action} <namespace>`))
      .description(`${action === 'repush' ? 're-push' : 'delete'} matching deliveries: says how many, asks, then shows progress (Ctrl-C stops between events)`)
      .option('-y, --yes', 'do not ask')
      .action(async (namespace: string, options: DeadLetterFilters & { yes?: boolean }, command: Command) => {
        const { api, out } = contextOf(command);
        const summary = await bulkDeadLetter(api, out, namespace, action, options, Boolean(options.yes));
        out.show(summary, describeBulk);
        if (summary.failed.length > 0) process.exitCode = 1;
        else if (summary.stopped) process.exitCode = 130;
      });
  }
  return push;
}
