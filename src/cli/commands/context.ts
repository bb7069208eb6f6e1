import type { Command } from 'commander';
import { FerryApi } from '../http';
import { Output } from '../output';

/** What every command needs, from the global options (and their environment variables). */
export interface CliContext {
  api: FerryApi;
  out: Output;
}

export function contextOf(command: Command): CliContext {
  const options = command.optsWithGlobals<{ api: string; admin: string; token?: string; adminAuth?: string; json?: boolean }>();
  return { api: new FerryApi(options), out: new Output(Boolean(options.json)) };
}

/** A path segment from user input. */
export const seg = (value: string): string => encodeURIComponent(value);

/** A whole number option, refused with a message when it is not one. */
export function wholeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`expected a whole number, got "${value}"`);
  return n;
}
