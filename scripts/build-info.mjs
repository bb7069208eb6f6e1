// Writes what /version reports (lmstfy's build_commit and build_date) beside the build: the commit
// from FERRY_BUILD_COMMIT (a Docker build has no .git) or git, and the time of the build.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const outDir = process.argv[2] ?? 'dist/src';
const fromGit = () => {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
};
const commit = process.env.FERRY_BUILD_COMMIT || fromGit() || 'unknown';
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'build-info.json'), `${JSON.stringify({ commit, date: new Date().toISOString() })}\n`);
