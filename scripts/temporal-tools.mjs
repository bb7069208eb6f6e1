#!/usr/bin/env node
// Finds or builds the two Temporal binaries Ferry runs locally, without the internet downloads the
// SDK would otherwise do (only package registries are reachable on our machines and in CI):
//   - the Temporal CLI (`temporal server start-dev`), built from source with `go install`;
//   - the Java time-skipping test server, resolved from Maven Central and run through a wrapper.
// It records their absolute paths in <tools>/temporal-tools.json (read by src/local-temporal/tools.ts).
// Everything is cached under <tools> (default <repo>/.tools), so later runs take well under a second.
//
// With --server it also builds the full Temporal server and its SQL tool (`npm run start:cluster`),
// and records the folder of the server module's SQL schemas, which the SQL tool applies.
//
// Usage: node scripts/temporal-tools.mjs [--cli-only] [--server]
//   --cli-only           do not set up the test server (`npm start` needs only the CLI)
//   --server             also build temporal-server, temporal-sql-tool (v1.29.1, the CLI's server) and temporal-ui-server
//   FERRY_TEMPORAL_CLI   use this Temporal CLI instead of finding or building one
//   FERRY_TEST_SERVER    use this test-server executable instead of setting one up
//   FERRY_TOOLS_DIR      cache folder instead of <repo>/.tools
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import net from 'node:net';
import { delimiter, dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const CLI_VERSIONS = ['v1.5.1', 'v1.4.1', 'v1.3.0'];
// The CLI's dependencies may not compile with a newer Go than they were released against; the
// module proxy serves this toolchain, which `go` fetches by itself when GOTOOLCHAIN names it.
const FALLBACK_GO_TOOLCHAIN = 'go1.25.5';
const TEST_SERVER_VERSIONS = ['1.38.0', '1.37.0'];
// The test server logs through slf4j without a binding, which prints a three-line warning on every
// start; the no-op binding logs exactly as much (nothing) without the warning. Matches its slf4j-api.
const SLF4J_NOP = { groupId: 'org.slf4j', artifactId: 'slf4j-nop', version: '1.7.36' };
// The SDK gives the test server 5 s to answer, and a plain JVM needs 0.7-0.9 s on 2 cores, up to
// 4 s when both are busy. C1 only and the serial collector spend less CPU on JIT and GC threads,
// and the AppCDS archive (created below) saves parsing and verifying ~2900 classes from the jars:
// 0.3 s, at most 2.3 s with both cores busy.
const JVM_FLAGS = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC'];

const started = Date.now();
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const toolsDir = resolve(process.env.FERRY_TOOLS_DIR ?? join(repo, '.tools'));
const binDir = join(toolsDir, 'bin');
const cliOnly = process.argv.slice(2).includes('--cli-only');
const withServer = process.argv.slice(2).includes('--server');
// The server CLI v1.5.1 embeds; its go.mod has no replace directives, so `go install` builds it.
const SERVER_MODULE = 'go.temporal.io/server';
const SERVER_VERSION = 'v1.29.1';
// The Web UI server the CLI v1.5.1 embeds (`UI 2.42.1` in its version line), with its assets.
const UI_SERVER = 'github.com/temporalio/ui-server/v2/cmd/server@v2.42.1';
if (cliOnly && process.env.TEMPORAL_ADDRESS) {
  process.stderr.write(`temporal-tools: TEMPORAL_ADDRESS=${process.env.TEMPORAL_ADDRESS}, no local Temporal needed\n`);
  process.exit(0);
}

function log(message) {
  process.stderr.write(`temporal-tools: ${message}\n`);
}

/** The absolute path of an executable named `name` on PATH, or null. */
function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter(Boolean)) {
    if (isExecutable(join(dir, name))) return resolve(dir, name);
  }
  return null;
}

function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Runs a command with its output on our stderr (so long builds show progress); true if it succeeded. */
function run(command, args, options = {}) {
  const result = spawnSync(command, args, { stdio: ['ignore', 2, 2], ...options });
  return result.status === 0;
}

// `--version` also catches a binary that an interrupted build left half-written.
function cliWorks(path) {
  return spawnSync(path, ['--version'], { stdio: 'ignore', timeout: 30_000 }).status === 0;
}

/** Resolves the Temporal CLI: { path, how, tried }, path null when none could be found or built. */
function resolveCli() {
  const explicit = process.env.FERRY_TEMPORAL_CLI;
  if (explicit) {
    const path = resolve(explicit);
    return cliWorks(path)
      ? { path, how: 'FERRY_TEMPORAL_CLI', tried: [] }
      : { path: null, tried: [`FERRY_TEMPORAL_CLI=${explicit} (missing, or \`--version\` failed)`] };
  }
  const tried = ['`temporal` on PATH'];
  const fromPath = onPath('temporal');
  if (fromPath && cliWorks(fromPath)) return { path: fromPath, how: 'PATH', tried };

  const cached = join(binDir, 'temporal');
  tried.push(cached);
  if (cliWorks(cached)) return { path: cached, how: 'cached', tried };

  if (!onPath('go')) {
    tried.push('building it (no `go` on PATH)');
    return { path: null, tried };
  }
  mkdirSync(binDir, { recursive: true });
  for (const version of CLI_VERSIONS) {
    for (const toolchain of [null, FALLBACK_GO_TOOLCHAIN]) {
      const how = `go install${toolchain ? ` (GOTOOLCHAIN=${toolchain})` : ''}`;
      tried.push(`${version} with ${how}`);
      log(`building Temporal CLI ${version} with ${how} (first run takes a few minutes)…`);
      const env = { ...process.env, GOBIN: binDir, ...(toolchain ? { GOTOOLCHAIN: toolchain } : {}) };
      if (run('go', ['install', `github.com/temporalio/cli/cmd/temporal@${version}`], { env }) && cliWorks(cached)) {
        return { path: cached, how: `built ${version}`, tried };
      }
      log(`building Temporal CLI ${version} with ${how} failed`);
    }
  }
  return { path: null, tried };
}

/** Resolves the test server: { path, how, tried }; builds it unless `build` is false. */
async function resolveTestServer(build) {
  const explicit = process.env.FERRY_TEST_SERVER;
  if (explicit) {
    const path = resolve(explicit);
    return isExecutable(path)
      ? { path, how: 'FERRY_TEST_SERVER', tried: [] }
      : { path: null, tried: [`FERRY_TEST_SERVER=${explicit} (not an executable file)`] };
  }
  // The wrapper is written last, only once everything it points at is in place.
  const wrapper = join(binDir, 'temporal-test-server');
  const tried = [wrapper];
  if (isExecutable(wrapper)) return { path: wrapper, how: 'cached', tried };
  if (!build) return { path: null, how: 'skipped (--cli-only)', tried };

  const java = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : onPath('java');
  const mvn = onPath('mvn');
  const absent = [java && isExecutable(java) ? null : 'java', mvn ? null : 'mvn'].filter(Boolean);
  if (absent.length) {
    tried.push(`setting it up (no ${absent.join(' and ')})`);
    return { path: null, tried };
  }
  const serverDir = join(toolsDir, 'test-server');
  for (const version of TEST_SERVER_VERSIONS) {
    tried.push(`Maven io.temporal:temporal-test-server:${version}`);
    const classpath = resolveClasspath(mvn, serverDir, version);
    if (!classpath) continue;
    const archive = await createCdsArchive(java, serverDir, classpath);
    writeWrapper(wrapper, java, classpath, archive, version);
    return { path: wrapper, how: `set up ${version}`, tried };
  }
  return { path: null, tried };
}

/** Copies the test server and its runtime dependencies into <serverDir>/lib; the classpath, or null. */
function resolveClasspath(mvn, serverDir, version) {
  log(`resolving io.temporal:temporal-test-server:${version} and its dependencies with Maven…`);
  const lib = join(serverDir, 'lib');
  // A previous, failed version must not leave its jars on the classpath.
  rmSync(lib, { recursive: true, force: true });
  mkdirSync(serverDir, { recursive: true });
  const dependency = ({ groupId, artifactId, version: v }) =>
    `<dependency><groupId>${groupId}</groupId><artifactId>${artifactId}</artifactId><version>${v}</version></dependency>`;
  writeFileSync(join(serverDir, 'pom.xml'), `<?xml version="1.0" encoding="UTF-8"?>
<!-- Generated by scripts/temporal-tools.mjs: only to resolve the test server's runtime classpath. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.ferry</groupId>
  <artifactId>temporal-test-server-classpath</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    ${dependency({ groupId: 'io.temporal', artifactId: 'temporal-test-server', version })}
    ${dependency(SLF4J_NOP)}
  </dependencies>
</project>
`);
  const ok = run(mvn, ['-B', '-q', '-f', join(serverDir, 'pom.xml'), 'dependency:copy-dependencies',
    '-DincludeScope=runtime', `-DoutputDirectory=${lib}`]);
  if (!ok) {
    log(`Maven could not resolve io.temporal:temporal-test-server:${version}`);
    return null;
  }
  return readdirSync(lib).filter((f) => f.endsWith('.jar')).sort().map((f) => join(lib, f)).join(':');
}

/**
 * Records the classes a start-up and a first request load into an AppCDS archive, which halves
 * the JVM's start-up. Returns its path, or null (the wrapper then starts without it, just slower).
 */
async function createCdsArchive(java, serverDir, classpath) {
  log('creating a class-data-sharing archive for a fast test-server start-up…');
  const archive = join(serverDir, 'app.jsa');
  // The JVM crashes on a truncated archive, so it is only ever moved into place complete.
  const training = `${archive}.tmp`;
  rmSync(training, { force: true });
  const port = await freePort();
  const child = spawn(java, [...JVM_FLAGS, `-XX:ArchiveClassesAtExit=${training}`, '-cp', classpath,
    'io.temporal.testserver.TestServer', String(port)], { stdio: 'ignore' });
  const exited = new Promise((done) => child.once('close', done));
  const answered = await waitForGrpc(port, child);
  // SIGTERM (unlike SIGKILL) lets the JVM exit normally, which is when it writes the archive.
  child.kill('SIGTERM');
  await exited;
  const usable = answered && spawnSync(java, [...JVM_FLAGS, '-Xshare:on', `-XX:SharedArchiveFile=${training}`,
    '-cp', classpath, '-version'], { stdio: 'ignore' }).status === 0;
  if (!usable) {
    log('could not create the archive; the test server will start without it');
    rmSync(training, { force: true });
    return null;
  }
  renameSync(training, archive);
  return archive;
}

function freePort() {
  return new Promise((done, fail) => {
    const server = net.createServer().once('error', fail).listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

/** Polls the server with the RPC the SDK waits for (GetSystemInfo) until it answers; true if it did. */
async function waitForGrpc(port, child) {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline && child.exitCode === null; await sleep(100)) {
    if (await grpcAnswers(port)) return true;
  }
  return false;
}

function grpcAnswers(port) {
  return new Promise((done) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    const finish = (answered) => {
      session.destroy();
      done(answered);
    };
    session.once('error', () => finish(false));
    const request = session.request({
      ':method': 'POST',
      ':path': '/temporal.api.workflowservice.v1.WorkflowService/GetSystemInfo',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    request.once('error', () => finish(false));
    request.setTimeout(2000, () => finish(false));
    request.once('trailers', (trailers) => finish(trailers['grpc-status'] === '0'));
    request.once('close', () => finish(false));
    request.resume();
    // An empty request message: no compression flag, zero length.
    request.end(Buffer.alloc(5));
  });
}

function writeWrapper(wrapper, java, classpath, archive, version) {
  const quote = (s) => `'${s.replaceAll("'", "'\\''")}'`;
  // A stale archive (e.g. after a JDK update) is ignored by the JVM, costing only start-up time;
  // -Xlog keeps its warning out of every test's output.
  const cds = archive ? [`-XX:SharedArchiveFile=${archive}`, '-Xlog:cds=off', '-Xlog:cds+dynamic=off'] : [];
  const command = [java, ...JVM_FLAGS, ...cds, '-cp', classpath, 'io.temporal.testserver.TestServer'].map(quote).join(' ');
  mkdirSync(binDir, { recursive: true });
  const temporary = `${wrapper}.tmp`;
  writeFileSync(temporary, `#!/usr/bin/env bash
# Generated by scripts/temporal-tools.mjs: Temporal's time-skipping test server
# (io.temporal:temporal-test-server:${version}). Usage: temporal-test-server <port> [--enable-time-skipping]
# exec, because the SDK stops the server by killing this process.
exec ${command} "$@"
`, { mode: 0o755 });
  renameSync(temporary, wrapper);
}

/**
 * Resolves the full server and its SQL tool: { server, sqlTool, schemaDir, how, tried }, built with
 * `go install` into <tools>/bin on first use; the schemas come with the module's source.
 */
function resolveServer() {
  const server = join(binDir, 'temporal-server');
  const sqlTool = join(binDir, 'temporal-sql-tool');
  const uiServer = join(binDir, 'temporal-ui-server');
  const tried = [server, sqlTool, uiServer];
  const works = (path) => spawnSync(path, ['--version'], { stdio: 'ignore', timeout: 30_000 }).status === 0;
  const schemaDir = () => {
    const result = spawnSync('go', ['env', 'GOMODCACHE'], { encoding: 'utf8' });
    const dir = join(result.stdout.trim(), `${SERVER_MODULE}@${SERVER_VERSION}`, 'schema', 'postgresql', 'v12');
    try {
      return statSync(dir).isDirectory() ? dir : null;
    } catch {
      return null;
    }
  };
  const none = { server: null, sqlTool: null, uiServer: null, schemaDir: null, how: 'MISSING' };
  if (works(server) && works(sqlTool) && works(uiServer) && schemaDir()) return { server, sqlTool, uiServer, schemaDir: schemaDir(), how: 'cached', tried };
  if (!onPath('go')) return { ...none, tried: [...tried, 'building them (no `go` on PATH)'] };
  mkdirSync(binDir, { recursive: true });
  // `go install` names binaries after their folder (server, sql); they are built aside and renamed.
  const buildDir = join(toolsDir, 'server-build');
  const packages = [[`${SERVER_MODULE}/cmd/server@${SERVER_VERSION}`, server], [`${SERVER_MODULE}/cmd/tools/sql@${SERVER_VERSION}`, sqlTool], [UI_SERVER, uiServer]];
  for (const [pkg, target] of packages) {
    if (works(target)) continue;
    log(`building ${pkg} (first run takes a few minutes)…`);
    tried.push(`go install ${pkg}`);
    rmSync(buildDir, { recursive: true, force: true });
    if (!run('go', ['install', pkg], { env: { ...process.env, GOBIN: buildDir } })) return { ...none, tried };
    renameSync(join(buildDir, readdirSync(buildDir)[0]), target);
  }
  rmSync(buildDir, { recursive: true, force: true });
  return { server, sqlTool, uiServer, schemaDir: schemaDir(), how: 'built', tried };
}

function describe(name, result) {
  return `${name}: ${result.path ? `${result.path} (${result.how})` : result.how ?? 'MISSING'}`;
}

const cli = resolveCli();
const testServer = await resolveTestServer(!cliOnly);
const previous = (() => {
  try {
    return JSON.parse(readFileSync(join(toolsDir, 'temporal-tools.json'), 'utf8'));
  } catch {
    return {};
  }
})();
// A run without --server keeps what an earlier --server run recorded.
const server = withServer
  ? resolveServer()
  : { server: previous.server ?? null, sqlTool: previous.sqlTool ?? null, uiServer: previous.uiServer ?? null, schemaDir: previous.schemaDir ?? null };
mkdirSync(toolsDir, { recursive: true });
writeFileSync(join(toolsDir, 'temporal-tools.json'), `${JSON.stringify({
  temporal: cli.path,
  testServer: testServer.path,
  server: server.server,
  sqlTool: server.sqlTool,
  uiServer: server.uiServer,
  schemaDir: server.schemaDir,
}, null, 2)}\n`);

const missing = [
  ['Temporal CLI', cli],
  ...(cliOnly ? [] : [['time-skipping test server', testServer]]),
  ...(withServer ? [['Temporal server, SQL tool and UI server', { path: server.server && server.sqlTool && server.uiServer && server.schemaDir, tried: server.tried ?? [] }]] : []),
].filter(([, result]) => !result.path);
for (const [name, result] of missing) {
  log(`${name} is missing; tried: ${result.tried.join('; ')}. Until it is there, the SDK downloads it itself, which needs the internet.`);
}
const serverNote = withServer ? `; temporal-server: ${server.server ?? 'MISSING'} (${server.how})` : '';
log(`${describe('temporal', cli)}; ${describe('test server', testServer)}${serverNote} [${((Date.now() - started) / 1000).toFixed(1)} s]`);
process.exitCode = missing.length ? 1 : 0;
