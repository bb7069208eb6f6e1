import { Command } from 'commander';
import type { JobResponse } from '../../api/params';
import { contextOf, seg, wholeNumber } from './context';
import { Output } from '../output';

/** `ferry queues`: the lmstfy queue API's sizes, peeks and dead letters (with --token). */
export function queueCommands(): Command {
  const queues = new Command('queues').description('job queues: list, size, peek, dead letter');
  queues
    .command('list')
    .description('every namespace and its queues (admin API)')
    .action(async (_options: object, command: Command) => {
      const { api, out } = contextOf(command);
      const info = await api.admin<Record<string, string[]>>('GET', '/info');
      const rows = Object.entries(info).flatMap(([namespace, names]) => names.map((queue) => ({ namespace, queue })));
      out.show(info, () => Output.table(rows, ['namespace', 'queue'], 'No queues.'));
    });
  queues
    .command('size <namespace> <queue>')
    .description('ready jobs in a queue')
    .action(async (namespace: string, queue: string, _options: object, command: Command) => {
      const { api, out } = contextOf(command);
      const size = await api.queue<{ size: number }>('GET', `/api/${seg(namespace)}/${seg(queue)}/size`);
      out.show(size, (s) => String(s.size));
    });
  queues
    .command('peek <namespace> <queue>')
    .description('the job a consumer would get next, or one job by id, without taking it')
    .option('--job <id>', 'this job instead of the head')
    .action(async (namespace: string, queue: string, options: { job?: string }, command: Command) => {
      const { api, out } = contextOf(command);
      const path = `/api/${seg(namespace)}/${seg(queue)}/${options.job ? `job/${seg(options.job)}` : 'peek'}`;
      const job = await api.queue<JobResponse>('GET', path);
      out.show(job, (j) => [
        `job ${j.job_id} in ${j.namespace}/${j.queue}: ttl ${j.ttl} s, ${j.remain_tries} tries left, published ${Math.round(j.elapsed_ms / 1000)} s ago`,
        Buffer.from(j.data, 'base64').toString(),
      ]);
    });

  const dead = queues.command('deadletter').description("a queue's dead letter");
  dead
    .command('show <namespace> <queue>')
    .description('its size and the job at its head')
    .action(async (namespace: string, queue: string, _options: object, command: Command) => {
      const { api, out } = contextOf(command);
      const view = await api.queue<{ deadletter_size: number; deadletter_head: string }>('GET', `/api/${seg(namespace)}/${seg(queue)}/deadletter`);
      out.show(view, (v) => `${v.deadletter_size} dead jobs in ${namespace}/${queue}` + (v.deadletter_head ? `; the oldest is ${v.deadletter_head}` : ''));
    });
  dead
    .command('respawn <namespace> <queue>')
    .description('put dead jobs back in the queue, oldest first')
    .option('--limit <n>', 'at most this many', wholeNumber, 1)
    .option('--ttl <seconds>', "their new ttl in seconds (0: none; default: the server's default ttl)", wholeNumber)
    .action(async (namespace: string, queue: string, options: { limit: number; ttl?: number }, command: Command) => {
      const { api, out } = contextOf(command);
      const query = new URLSearchParams({ limit: String(options.limit), ...(options.ttl === undefined ? {} : { ttl: String(options.ttl) }) });
      const respawned = await api.queue<{ count: number }>('PUT', `/api/${seg(namespace)}/${seg(queue)}/deadletter?${query.toString()}`);
      out.show(respawned, (r) => `Respawned ${r.count} jobs into ${namespace}/${queue}.`);
    });
  dead
    .command('delete <namespace> <queue>')
    .description('delete dead jobs, oldest first')
    .option('--limit <n>', 'at most this many', wholeNumber, 1)
    .action(async (namespace: string, queue: string, options: { limit: number }, command: Command) => {
      const { api, out } = contextOf(command);
      await api.queue('DELETE', `/api/${seg(namespace)}/${seg(queue)}/deadletter?limit=${options.limit}`);
      out.show({ deleted: options.limit }, () => `Deleted up to ${options.limit} dead jobs of ${namespace}/${queue}.`);
    });
  return queues;
}
