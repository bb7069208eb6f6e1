import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readBuildInfo } from '../../src/build-info';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-build-info-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const writeBuildInfo = (dir: string, env: NodeJS.ProcessEnv = {}) =>
  execFileSync(process.execPath, ['scripts/build-info.mjs', dir], { env: { PATH: process.env.PATH, ...env } });

test("/version's build_commit and build_date: the build writes them, from git or FERRY_BUILD_COMMIT", () => {
  const fromGit = tempDir();
  const started = Date.now();
  writeBuildInfo(fromGit);
  const head = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
  const info = readBuildInfo(fromGit);
  expect(info.commit).toBe(head);
  expect(Date.parse(info.date)).toBeGreaterThanOrEqual(started - 1000);

  const fromDocker = tempDir();
  writeBuildInfo(fromDocker, { FERRY_BUILD_COMMIT: 'abc1234' });
  expect(readBuildInfo(fromDocker).commit).toBe('abc1234');
});

test('code that runs unbuilt reports unknown', () => {
  expect(readBuildInfo(tempDir())).toEqual({ commit: 'unknown', date: 'unknown' });
});
