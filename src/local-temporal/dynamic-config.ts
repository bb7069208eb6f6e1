import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { projectRoot } from './tools';

/** The one dynamic config of every Temporal server Ferry starts: the dev server, the cluster, compose. */
export const DYNAMIC_CONFIG_FILE = join(projectRoot(), 'deploy', 'temporal', 'dynamicconfig.yaml');

type DynamicConfigFile = Record<string, { value: unknown; constraints?: unknown }[]>;

/**
 * The file as `temporal server start-dev` takes it, one `--dynamic-config-value key=<json>` per
 * key. The dev server has no per-namespace or per-task-queue values, so a key with constraints is
 * refused rather than applied everywhere.
 */
export function devServerDynamicConfigArgs(file = DYNAMIC_CONFIG_FILE): string[] {
  const config = (parse(readFileSync(file, 'utf8')) ?? {}) as DynamicConfigFile;
  return Object.entries(config).flatMap(([key, values]) => {
    if (values.length !== 1 || values[0]!.constraints !== undefined) {
      throw new Error(`${file}: ${key} has constraints or several values, which the dev server cannot take`);
    }
    return ['--dynamic-config-value', `${key}=${JSON.stringify(values[0]!.value)}`];
  });
}
