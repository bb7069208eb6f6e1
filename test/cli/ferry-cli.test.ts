import { execFile, spawn } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { createServer, request as httpRequest } from 'node:http';
import type { Server } from 'node:http';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import { ferryProgram } from '../../src/cli/ferry';
import { eventually } from '../helpers/eventually';
import type { FerryUnderTest } from '../helpers/ferry';
import { useFerry } from '../helpers/ferry';
import { Receiver } from '../helpers/receiver';

/**
 * The `ferry` command as an operator runs it (bin/ferry.js in its own process) against a real
 * Ferry; the confirmation prompt, the progress bar and Ctrl-C in a pseudo-terminal (util-linux
 * `script`), as at a terminal.
 */
const ns = 'cli';
let ferry: FerryUnderTest;
let token: string;
let receiver: Receiver;

useFerry(async (started) => {
  ferry = started;
  token = await started.token(ns);
  receiver = await Receiver.start();
  // Every failure is final here (no retries), and no endpoint pauses in between.
}, { FERRY_PUSH_FAILURES_TO_PAUSE: '100000' });
afterAll(async () => receiver?.stop());

const cliEnv = (api = ferry.api.queueUrl) => ({ ...process.env, FERRY_API: api, FERRY_ADMIN: ferry.api.adminUrl, FERRY_TOKEN: token, FORCE_COLOR: '0' });

/** Runs `ferry args…` without a terminal: its exit code and output. */
async function ferryCli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['bin/ferry.js', ...args], { env: cliEnv() });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
const json = async <T>(...args: string[]): Promise<T> => {
  const run = await ferryCli('--json', ...args);
  if (run.code !== 0) throw new Error(`ferry ${args.join(' ')} exited ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
};

/** `ferry args…` in a pseudo-terminal: what it has printed so far, keys to type, its exit. */
function ferryAtTerminal(api: string, ...args: string[]) {
  const line = ['node', 'bin/ferry.js', ...args].map((a) => `'${a}'`).join(' ');
  const child = spawn('script', ['-q', '-e', '-c', line, '/dev/null'], { env: { ...cliEnv(api), TERM: 'xterm' }, stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    output: () => output,
    type: (keys: string) => child.stdin.write(keys),
    until: (pattern: RegExp, timeoutMs = 30_000) => eventually(async () => expect(output).toMatch(pattern), timeoutMs, 50),
    exited,
  };
}

async function pushApi<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await ferry.queue(`/push/${ns}${path}`, {
    method,
    headers: { 'X-Token': token, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path} answered ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

/** An endpoint whose deliveries fail at once and for good, and `count` events dead-lettered on it. */
async function deadDeliveries(id: string, count: number): Promise<string[]> {
  const url = receiver.script(`/${id}`, 500);
  await pushApi('POST', '/endpoints', { id, url, eventTypes: [`${id}.#`], retrySchedule: [] });
  const ids: string[] = [];
  for (let i = 0; i < count; i += 10) {
    const published = await Promise.all(
      Array.from({ length: Math.min(10, count - i) }, () => pushApi<{ id: string }>('POST', '/events', { type: `${id}.happened`, data: { i } })),
    );
    ids.push(...published.map((p) => p.id));
  }
  const dryRun = () => pushApi<{ count: number }>('POST', '/deadletter/repush', { endpoint: id, dryRun: true });
  await eventually(async () => expect((await dryRun()).count).toBe(count), 60_000, 250);
  receiver.script(`/${id}`, 200);
  return ids;
}

const leaves = (command: Command, path: string[] = []): { path: string[]; command: Command }[] =>
  command.commands.length === 0 ? [{ path, command }] : command.commands.flatMap((c) => leaves(c, [...path, c.name()]));

test('--help lists every command, and every command and option says what it is', async () => {
  const help = await ferryCli('--help');
  expect(help.code).toBe(0);
  for (const name of ['tokens', 'limits', 'queues', 'push', 'status']) expect(help.stdout).toContain(name);
  const all = leaves(ferryProgram());
  expect(all.map((l) => l.path.join(' '))).toEqual(
    expect.arrayContaining(['tokens create', 'limits set', 'queues deadletter respawn', 'push deadletter repush', 'push events trace', 'status']),
  );
  for (const { path, command } of all) {
    expect([path.join(' '), command.description() || command.parent?.description()]).toEqual([path.join(' '), expect.stringMatching(/\w/)]);
    for (const option of command.options) expect([path.join(' '), option.flags, option.description]).toEqual([path.join(' '), option.flags, expect.stringMatching(/\w/)]);
  }
  const sub = await ferryCli('push', 'deadletter', 'repush', '--help');
  expect(sub.stdout).toMatch(/--endpoint <id>[\s\S]*--yes/);
});

test('tokens and limits: create, list, set, show, delete', async () => {
  const { token: created } = await json<{ token: string }>('tokens', 'create', 'cli-tokens', '--description', 'from the cli');
  const listed = await json<{ tokens: Record<string, string> }>('tokens', 'list', 'cli-tokens');
  expect(Object.values(listed.tokens)).toEqual(['from the cli']);
  const id = Object.keys(listed.tokens)[0]!;
  expect(created.length).toBeGreaterThanOrEqual(8);
  await json('limits', 'set', 'cli-tokens', id, '--read', '10', '--write', '5', '--interval', '1');
  expect(await json('limits', 'show', 'cli-tokens', id)).toEqual({ read: 10, write: 5, interval: 1 });
  expect((await ferryCli('limits', 'show')).stdout).toMatch(new RegExp(`cli-tokens\\s+${id}\\s+10 reads and 5 writes per 1 s`));
  await json('limits', 'delete', 'cli-tokens', id);
  const gone = await ferryCli('limits', 'show', 'cli-tokens', id);
  expect([gone.code, gone.stderr]).toEqual([1, expect.stringContaining('answered 404: limit not found')]);
  await json('tokens', 'delete', 'cli-tokens', id);
  expect((await ferryCli('tokens', 'list', 'cli-tokens')).stdout).toContain('No tokens in cli-tokens.');
});

test('queues: list, size, peek, and the dead letter shown, respawned and deleted', async () => {
  const put = (body: string) => ferry.queue(`/api/${ns}/jobs?tries=1&ttl=0`, { method: 'PUT', body, headers: { 'X-Token': token } });
  expect((await put('first')).status).toBe(201);
  expect((await put('second')).status).toBe(201);
  expect((await json<Record<string, string[]>>('queues', 'list'))[ns]).toContain('jobs');
  expect((await ferryCli('queues', 'size', ns, 'jobs')).stdout.trim()).toBe('2');
  expect((await ferryCli('queues', 'peek', ns, 'jobs')).stdout).toMatch(/^job \S+ in cli\/jobs: .*\nfirst\n$/);
  // Four jobs of one try each, consumed and never acked, die.
  for (let i = 0; i < 2; i++) expect((await put(`more-${i}`)).status).toBe(201);
  await ferry.queue(`/api/${ns}/jobs?count=4&ttr=1`, { headers: { 'X-Token': token } });
  await eventually(async () => expect(await json('queues', 'deadletter', 'show', ns, 'jobs')).toMatchObject({ deadletter_size: 4 }), 20_000, 250);
  expect((await ferryCli('queues', 'deadletter', 'respawn', ns, 'jobs', '--limit', '3', '--ttl', '0')).stdout).toContain('Respawned 3 jobs into cli/jobs.');
  expect((await ferryCli('queues', 'size', ns, 'jobs')).stdout.trim()).toBe('3');
  await ferryCli('queues', 'deadletter', 'delete', ns, 'jobs', '--limit', '5');
  await eventually(async () => expect(await json('queues', 'deadletter', 'show', ns, 'jobs')).toMatchObject({ deadletter_size: 0 }), 10_000, 250);
  const refused = await ferryCli('--token', 'nope-nope-nope', 'queues', 'peek', ns, 'jobs');
  expect([refused.code, refused.stderr]).toEqual([1, expect.stringMatching(/answered 401: invalid token/)]);
});

test('push deadletter repush: the count, the prompt, the progress bar, the summary; then the deliveries go out', async () => {
  const ids = await deadDeliveries('bulk', 30);
  const listed = await json<{ deliveries: { eventId: string }[] }>('push', 'deadletter', 'list', ns, '--endpoint', 'bulk', '--limit', '1000');
  expect(listed.deliveries.map((d) => d.eventId).sort()).toEqual([...ids].sort());
  const run = ferryAtTerminal(ferry.api.queueUrl, 'push', 'deadletter', 'repush', ns, '--endpoint', 'bulk');
  await run.until(/Re-push 30 dead-lettered deliveries in cli\?/);
  run.type('y\r');
  expect(await run.exited).toBe(0);
  console.log(`ferry push deadletter repush at a terminal printed:\n${run.output()}`);
  expect(run.output()).toMatch(/30\/30 100%/);
  expect(run.output()).toContain('30 of 30 deliveries re-pushed.');
  await eventually(async () => expect(new Set(receiver.to('/bulk').filter((h) => h.status === 200).map((h) => (JSON.parse(h.body) as { id: string }).id)).size).toBe(30), 30_000, 250);
  // Nothing is left, and saying no does nothing.
  const again = await ferryCli('push', 'deadletter', 'repush', ns, '--endpoint', 'bulk', '--yes');
  expect(again.stdout).toContain('Nothing to do');
});

test('without a terminal a bulk action needs --yes; at the prompt "no" does nothing', async () => {
  await deadDeliveries('asked', 2);
  const refused = await ferryCli('push', 'deadletter', 'delete', ns, '--endpoint', 'asked');
  expect([refused.code, refused.stderr]).toEqual([1, expect.stringContaining('2 deliveries would be deleted; pass --yes')]);
  const run = ferryAtTerminal(ferry.api.queueUrl, 'push', 'deadletter', 'delete', ns, '--endpoint', 'asked');
  await run.until(/Delete 2 dead-lettered deliveries/);
  run.type('n\r');
  expect(await run.exited).toBe(130);
  expect((await pushApi<{ count: number }>('POST', '/deadletter/delete', { endpoint: 'asked', dryRun: true })).count).toBe(2);
  expect((await json<{ done: number }>('push', 'deadletter', 'delete', ns, '--endpoint', 'asked', '--yes')).done).toBe(2);
});

test('Ctrl-C stops a bulk re-push between events and says how far it got', async () => {
  await deadDeliveries('slow', 60);
  // The API behind a proxy that answers each re-push 250 ms late, so the run is still going when Ctrl-C comes.
  const proxy = await slowProxy(new URL(ferry.api.queueUrl), 250);
  try {
    const run = ferryAtTerminal(proxy.url, 'push', 'deadletter', 'repush', ns, '--endpoint', 'slow', '--yes');
    await run.until(/\] ([89]|[1-4]\d)\/60/);
    run.type('\x03');
    expect(await run.exited).toBe(130);
    const summary = /(\d+) of 60 deliveries re-pushed/.exec(run.output());
    expect(summary).not.toBeNull();
    const done = Number(summary![1]);
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(60);
    expect(run.output()).toContain(`${60 - done} deliveries were not reached and stay in the dead letter`);
    const left = () => pushApi<{ count: number }>('POST', '/deadletter/repush', { endpoint: 'slow', dryRun: true });
    await eventually(async () => expect((await left()).count).toBe(60 - done), 20_000, 250);
  } finally {
    await new Promise((resolve) => proxy.server.close(resolve));
  }
});

test('status: both APIs, Temporal, the workers, and the dead letters that need attention', async () => {
  await deadDeliveries('watched', 1);
  const run = await ferryCli('status');
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(/queue API: up\nadmin API: up \(Ferry [\d.]+\)\nTemporal: reachable\n/);
  expect(run.stdout).toMatch(new RegExp(`workers on ${ferry.config.FERRY_TASK_QUEUE} \\(activity\\): \\d+@`));
  expect(run.stdout).toMatch(/cli\s+watched\s+1\s+0/);
  const down = (await promisify(execFile)(process.execPath, ['bin/ferry.js', 'status'], { env: { ...cliEnv(), FERRY_ADMIN: 'http://127.0.0.1:9' } }).then(
    () => ({ code: 0, stderr: '' }),
    (err: unknown) => err as { code: number; stderr: string },
  ));
  expect([down.code, down.stderr]).toEqual([1, expect.stringContaining('cannot reach http://127.0.0.1:9')]);
});

/** An HTTP proxy to `target` that holds POSTs for `delayMs` before passing them on. */
async function slowProxy(target: URL, delayMs: number): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const forward = () => {
      const upstream = httpRequest({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      req.pipe(upstream);
    };
    if (req.method === 'POST') setTimeout(forward, delayMs);
    else forward();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}
