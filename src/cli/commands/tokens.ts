import { Command } from 'commander';
import { contextOf, seg, wholeNumber } from './context';
import { Output } from '../output';

type Limit = { read: number; write: number; interval: number };

/** `ferry tokens` and `ferry limits`: the admin API's tokens and per-token rate limits. */
export function tokenCommands(): Command[] {
  const tokens = new Command('tokens').description('namespace tokens (admin API)');
  tokens
    .command('create <namespace>')
    .description('create a token; prints it (it is shown only once)')
    .requiredOption('-d, --description <text>', 'what the token is for')
    .option('--token <token>', 'use this token instead of a generated one (at least 8 characters)')
    .action(async (namespace: string, options: { description: string; token?: string }, command: Command) => {
      const { api, out } = contextOf(command);
      const query = new URLSearchParams({ description: options.description, ...(options.token ? { token: options.token } : {}) });
      const created = await api.admin<{ token: string }>('POST', `/token/${seg(namespace)}?${query.toString()}`);
      out.show(created, (c) => c.token);
    });
  tokens
    .command('list <namespace>')
    .description("list a namespace's tokens (ids and descriptions)")
    .action(async (namespace: string, _options: object, command: Command) => {
      const { api, out } = contextOf(command);
      const listed = await api.admin<{ tokens: Record<string, string> }>('GET', `/token/${seg(namespace)}`);
      out.show(listed, (l) => Output.table(Object.entries(l.tokens).map(([token, description]) => ({ token, description })), ['token', 'description'], `No tokens in ${namespace}.`));
    });
  tokens
    .command('delete <namespace> <token>')
    .description('delete a token')
    .action(async (namespace: string, token: string, _options: object, command: Command) => {
      const { api, out } = contextOf(command);
      await api.admin('DELETE', `/token/${seg(namespace)}/${seg(token)}`);
      out.show({ deleted: token }, () => `Deleted token ${token} of ${namespace}.`);
    });

  const limits = new Command('limits').description('per-token rate limits (admin API)');
  limits
    .command('show [namespace] [token]')
    .description("one token's limit, or every limit when no token is named")
    .action(async (namespace: string | undefined, token: string | undefined, _options: object, command: Command) => {
      const { api, out } = contextOf(command);
      if (namespace && token) {
        const limit = await api.admin<Limit>('GET', `/token/${seg(namespace)}/${seg(token)}/limit`);
        out.show(limit, (l) => describeLimit(l));
        return;
      }
      const all = await api.admin<{ namespace: string; token: string; limiter: Limit }[]>('GET', '/limits');
      out.show(all, (rows) => Output.table(rows.map((r) => ({ namespace: r.namespace, token: r.token, limit: describeLimit(r.limiter) })), ['namespace', 'token', 'limit'], 'No token has a limit.'));
    });
  limits
    .command('set <namespace> <token>')
    .description("set a token's limit: at most --read consumes and --write publishes per --interval seconds (0: no limit of that kind)")
    .requiredOption('--read <n>', 'consumes per interval', wholeNumber)
    .requiredOption('--write <n>', 'publishes per interval', wholeNumber)
    .requiredOption('--interval <seconds>', 'the interval', wholeNumber)
    .action(async (namespace: string, token: string, limit: Limit, command: Command) => {
      const { api, out } = contextOf(command);
      const set = await api.admin<{ limiter: Limit }>('PUT', `/token/${seg(namespace)}/${seg(token)}/limit`, limit);
      out.show(set, (s) => `Token ${token} of ${namespace}: ${describeLimit(s.limiter)}.`);
    });
  limits
    .command('delete <namespace> <token>')
    .description("remove a token's limit")
    .action(async (namespace: string, token: string, _options: object, command: Command) => {
      const { api, out } = contextOf(command);
      await api.admin('DELETE', `/token/${seg(namespace)}/${seg(token)}/limit`);
      out.show({ deleted: token }, () => `Token ${token} of ${namespace} has no limit now.`);
    });
  return [tokens, limits];
}

const describeLimit = ({ read, write, interval }: Limit): string => `${read} reads and ${write} writes per ${interval} s`;
