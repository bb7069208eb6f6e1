import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** What `/version` reports beside the package version, as lmstfy does. */
export interface BuildInfo {
  commit: string;
  date: string;
}

/** Reads the `build-info.json` that `npm run build` writes beside this module; "unknown" when the code runs unbuilt. */
export function readBuildInfo(dir = __dirname): BuildInfo {
  try {
    const { commit, date } = JSON.parse(readFileSync(join(dir, 'build-info.json'), 'utf8')) as Partial<BuildInfo>;
    return { commit: commit ?? 'unknown', date: date ?? 'unknown' };
  } catch {
    return { commit: 'unknown', date: 'unknown' };
  }
}
