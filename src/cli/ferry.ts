import { Command, Option } from 'commander';
import { version } from '../../package.json';
import { queueCommands } from './commands/queues';
import { pushCommands } from './commands/push';
import { statusCommand } from './commands/status';
import { tokenCommands } from './commands/tokens';

/**
 * `ferry`: Ferry's operator command over its HTTP APIs. Every command takes the global options (or
 * their environment variables) and `--json` for scripts; an API error prints its message and
 * exits 1.
 */
export function ferryProgram(): Command {
  const program = new Command('ferry')
    .description("Operate Ferry: tokens and limits, queues and their dead letters, push endpoints, events and dead letter, status")
    .version(version)
    .addOption(new Option('--api <url>', 'the queue and push API').env('FERRY_API').default('http://127.0.0.1:7777'))
    .addOption(new Option('--admin <url>', 'the admin API').env('FERRY_ADMIN').default('http://127.0.0.1:7778'))
    .addOption(new Option('--token <token>', "a namespace's token, for queue and push commands").env('FERRY_TOKEN'))
    .addOption(new Option('--admin-auth <user:password>', "the admin API's basic auth, when it has accounts").env('FERRY_ADMIN_AUTH'))
    .option('--json', 'print JSON, for scripts')
    .showHelpAfterError()
    .showSuggestionAfterError();
  for (const command of [...tokenCommands(), queueCommands(), pushCommands(), statusCommand()]) program.addCommand(command);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    await ferryProgram().parseAsync(argv);
  } catch (err) {
    // A prompt closed with Ctrl-C ends the command as a cancelled one.
    if (err instanceof Error && err.name === 'ExitPromptError') {
      process.stderr.write('Cancelled.\n');
      process.exitCode = 130;
      return;
    }
    process.stderr.write(`ferry: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}

if (require.main === module) void main(process.argv);
