import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface TemporalTools {
  /** The Temporal CLI (`temporal server start-dev`), or null to let the SDK download it. */
  temporal: string | null;
  /** The time-skipping test server wrapper, or null to let the SDK download it. */
  testServer: string | null;
  /** The full Temporal server, its SQL tool, the Web UI server and the PostgreSQL schemas (built with `--server`), or null. */
  server?: string | null;
  sqlTool?: string | null;
  uiServer?: string | null;
  schemaDir?: string | null;
}

/** What scripts/temporal-tools.mjs found or built (it writes .tools/temporal-tools.json). */
export function temporalTools(): TemporalTools {
  const dir = process.env.FERRY_TOOLS_DIR ?? join(projectRoot(), '.tools');
  try {
    return JSON.parse(readFileSync(join(dir, 'temporal-tools.json'), 'utf8')) as TemporalTools;
  } catch {
    return { temporal: null, testServer: null };
  }
}

/** The folder holding package.json, whether this runs from src/ (tests) or dist/src/ (npm start). */
export function projectRoot(from = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && !dir.endsWith('dist')) return dir;
    if (dirname(dir) === dir) return process.cwd();
  }
}
