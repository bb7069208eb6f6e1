import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FerryUnderTest } from '../helpers/ferry';
import { useFerry } from '../helpers/ferry';

/**
 * The unmodified lmstfy Go client (github.com/bitleak/lmstfy/client v1.0.15) against Ferry: the Go
 * program in test/lmstfy-client runs every client call and exits non-zero at the first mismatch.
 */

const run = promisify(execFile);
const programDir = join(__dirname, '..', 'lmstfy-client');
const namespace = 'gocompat';
/** The number of checks test/lmstfy-client/main.go runs (its expectedChecks). */
const EXPECTED_CHECKS = 75;

interface ExecFailure extends Error {
  code?: number | string;
  signal?: string | null;
  killed?: boolean;
  stdout?: string;
  stderr?: string;
}

// Not `instanceof Error`: errors made by Node's child_process come from outside Jest's realm.
const asFailure = (err: unknown): ExecFailure =>
  typeof err === 'object' && err !== null ? (err as ExecFailure) : new Error(String(err));

const describeFailure = (what: string, err: ExecFailure): string =>
  [
    `${what} failed (exit code ${String(err.code)}${err.signal ? `, signal ${err.signal}` : ''}${err.killed ? ', killed on timeout' : ''}): ${err.message}`,
    `--- stdout ---\n${err.stdout ?? ''}`,
    `--- stderr ---\n${err.stderr ?? ''}`,
  ].join('\n');

let ferry: FerryUnderTest;
let binDir: string;

useFerry(async (started) => {
  ferry = started;
  binDir = await mkdtemp(join(tmpdir(), 'ferry-lmstfy-client-'));
});

afterAll(async () => {
  if (binDir) await rm(binDir, { recursive: true, force: true });
});

test(
  'the lmstfy Go client v1.0.15 runs unmodified against Ferry',
  async () => {
    try {
      await run('go', ['version']);
    } catch (err) {
      const failure = asFailure(err);
      throw new Error(
        failure.code === 'ENOENT'
          ? 'The Go toolchain (`go`) is not on PATH; this compatibility test needs it to build test/lmstfy-client.'
          : describeFailure('`go version`', failure),
      );
    }

    const binary = join(binDir, 'lmstfy-client');
    const buildStarted = Date.now();
    try {
      // -mod=readonly: go.sum is committed, the build must not change it.
      await run('go', ['build', '-mod=readonly', '-buildvcs=false', '-o', binary, '.'], {
        cwd: programDir,
        timeout: 170_000,
        maxBuffer: 16 * 1024 * 1024,
      });
    } catch (err) {
      throw new Error(describeFailure('`go build` in test/lmstfy-client', asFailure(err)));
    }
    const buildMs = Date.now() - buildStarted;

    const { port, hostname } = new URL(ferry.api.queueUrl);
    const token = await ferry.token(namespace);
    const runStarted = Date.now();
    let stdout: string;
    let stderr: string;
    try {
      ({ stdout, stderr } = await run(binary, [], {
        env: {
          ...process.env,
          FERRY_HOST: hostname,
          FERRY_API_PORT: port,
          FERRY_NAMESPACE: namespace,
          FERRY_TOKEN: token,
        },
        // The program stops itself after 90 s.
        timeout: 120_000,
        maxBuffer: 16 * 1024 * 1024,
      }));
    } catch (err) {
      throw new Error(describeFailure('the lmstfy client program', asFailure(err)));
    }
    const runMs = Date.now() - runStarted;

    // Exit code 0 alone is not enough: a program that silently checks nothing must not pass.
    const okChecks = stdout.split('\n').filter((line) => line.startsWith('ok   ')).length;
    if (okChecks < EXPECTED_CHECKS || !stdout.includes(`PASS ${okChecks} checks`)) {
      throw new Error(
        `expected at least ${EXPECTED_CHECKS} ok checks and a PASS line, got ${okChecks} ` +
          `(build ${buildMs} ms, run ${runMs} ms)\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`,
      );
    }
    expect(okChecks).toBeGreaterThanOrEqual(EXPECTED_CHECKS);
  },
  300_000,
);
