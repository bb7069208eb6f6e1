import type { Config } from './config';
import { loadConfig } from './config';

/**
 * Runs `stop` once on the first SIGINT or SIGTERM; a second signal exits at once. Entry points use
 * this so that Ctrl-C stops taking work, lets in-flight work finish, and then exits.
 */
export function onShutdownSignal(stop: (signal: NodeJS.Signals) => Promise<void>): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    stop(signal).then(
      () => process.exit(0),
      (err: unknown) => {
        console.error('shutdown failed', err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handle);
  process.on('SIGTERM', handle);
}

/** Reads the configuration and runs `main`; an invalid configuration or a failed start exits 1 with its message. */
export function runMain(main: (config: Config) => Promise<void>): void {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    exitOnStartupError(err);
  }
  main(config).catch(exitOnStartupError);
}

/** Prints a start-up failure without a stack trace when it is a configuration problem. */
export function exitOnStartupError(err: unknown): never {
  console.error(err instanceof Error && err.name === 'ConfigError' ? err.message : err);
  process.exit(1);
}
