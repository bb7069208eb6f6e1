import pino from 'pino';
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startApi } from '../../src/api/server';
import { TokenStore } from '../../src/temporal/token-store';
import { loadConfig } from '../../src/config';
import { temporalTools } from '../../src/local-temporal/tools';
import { deadLetterWorkflowId, indexTaskQueue, LEGACY_TOKEN_REGISTRY_WORKFLOW_ID } from '../../src/workflows/ids';
import { eventually } from '../helpers/eventually';
import type { FerryUnderTest } from '../helpers/ferry';
import { useFerry } from '../helpers/ferry';
import { CLUSTER_ADDRESS } from '../helpers/temporal';

let ferry: FerryUnderTest;

useFerry((started) => {
  ferry = started;
});

const json = async (res: Response) => ({ status: res.status, body: (await res.json()) });
const post = { method: 'POST' };

describe('tokens', () => {
  test('create, list and delete; listings show an id, never the secret', async () => {
    const created = await ferry.admin('/token/tok1?description=worker', post);
    expect(created.status).toBe(201);
    const { token } = (await created.json()) as { token: string };
    expect(token.length).toBeGreaterThanOrEqual(20);
    const listed = (await (await ferry.admin('/token/tok1')).json()) as { tokens: Record<string, string> };
    expect(Object.values(listed.tokens)).toEqual(['worker']);
    expect(Object.keys(listed.tokens)[0]).not.toContain(token.slice(0, 8));
    expect((await ferry.queue(`/api/tok1/q?token=${token}`)).status).toBe(404);

    expect((await ferry.admin(`/token/tok1/${token}`, { method: 'DELETE' })).status).toBe(204);
    // Two calls, so on the cluster both API processes answer: the one that deleted the token at
    // once, the other within FERRY_TOKEN_REFRESH_MS (500 ms here).
    const refusedEverywhere = async () => {
      for (let i = 0; i < 2; i++) expect(await json(await ferry.queue(`/api/tok1/q?token=${token}`))).toEqual({ status: 401, body: { error: 'invalid token' } });
    };
    await (CLUSTER_ADDRESS ? eventually(refusedEverywhere, 3000) : refusedEverywhere());
    expect((await (await ferry.admin('/token/tok1')).json())).toEqual({ tokens: {} });
  });

  test('a token can be brought by the caller, from the query or a form, and must be long enough', async () => {
    const mine = 'my-own-token-of-24-chars';
    const form = await ferry.admin('/token/tok2', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `description=formed&token=${mine}`,
    });
    expect(await json(form)).toEqual({ status: 201, body: { token: mine } });
    expect((await ferry.queue(`/api/tok2/q`, { headers: { 'X-Token': mine } })).status).toBe(404);
    expect(await json(await ferry.admin(`/token/tok2?description=again&token=${mine}`, post))).toEqual({
      status: 400,
      body: { error: 'the token has already existed' },
    });
    expect(await json(await ferry.admin('/token/tok2?description=x&token=short', post))).toEqual({
      status: 400,
      body: { error: 'the user token was too short' },
    });
    expect(await json(await ferry.admin('/token/tok2', post))).toEqual({ status: 400, body: { error: 'invalid description' } });
    expect(await json(await ferry.admin('/token/bad.ns?description=x', post))).toEqual({
      status: 400,
      body: { error: 'namespace name contains forbidden characters' },
    });
    expect(await json(await ferry.admin('/token/tok2?description=x&pool=other', post))).toEqual({
      status: 400,
      body: { error: 'the pool was not exists' },
    });
  });

  test("a body-less POST with an empty Content-Type (Go's http.Post(url, \"\", nil)) is served as lmstfy serves it", async () => {
    const noType = { method: 'POST', headers: { 'content-type': '' } };
    const created = await ferry.admin('/token/tok5?description=go-client', noType);
    expect(created.status).toBe(201);
    const { token } = (await created.json()) as { token: string };
    // The queue port takes any content type already; the same request there publishes.
    const published = await ferry.queue(`/api/tok5/q?token=${token}`, { method: 'PUT', headers: { 'content-type': '' } });
    expect(published.status).toBe(201);
  });

  test('a deleted token is refused within 5 s by every API process', async () => {
    // A second API process on the same Temporal, with the default refresh period.
    const other = await startApi(
      loadConfig({ FERRY_API_PORT: '0', FERRY_ADMIN_PORT: '0', FERRY_TASK_QUEUE: ferry.config.FERRY_TASK_QUEUE }),
      ferry.env.client,
      pino({ level: 'silent' }),
    );
    try {
      const token = await ferry.token('tok3');
      await eventually(async () => expect((await fetch(`${other.queueUrl}/api/tok3/q?token=${token}`)).status).toBe(404));
      const deletedAt = Date.now();
      await ferry.admin(`/token/tok3/${token}`, { method: 'DELETE' });
      await eventually(
        async () => expect((await fetch(`${other.queueUrl}/api/tok3/q?token=${token}`)).status).toBe(401),
        5000,
        50,
      );
      expect(Date.now() - deletedAt).toBeLessThan(5000);
    } finally {
      await other.close();
    }
  });
});

describe('rate limits', () => {
  test('limits are set, read, changed and removed; over the limit is 429', async () => {
    const token = await ferry.token('lim');
    const path = `/token/lim/${token}/limit`;
    expect((await ferry.admin(path)).status).toBe(404);
    const limit = { read: 1, write: 2, interval: 60 };
    const created = await ferry.admin(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(limit) });
    expect(await json(created)).toEqual({ status: 201, body: { limiter: limit } });
    expect(await json(await ferry.admin(path))).toEqual({ status: 200, body: limit });
    const again = await ferry.admin(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(limit) });
    expect(again.status).toBe(409);
    const zero = await ferry.admin(path, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...limit, interval: 0 }) });
    expect(await json(zero)).toEqual({ status: 400, body: { error: 'interval should be > 0' } });

    // Each API process counts on its own (README, "Several API processes"): every call here goes to one.
    const onOneApi = (path: string, init?: RequestInit) => fetch(`${ferry.api.queueUrl}${path}`, init);
    const publish = () => onOneApi('/api/lim/q', { method: 'PUT', body: 'x', headers: { 'X-Token': token } });
    expect((await publish()).status).toBe(201);
    expect((await publish()).status).toBe(201);
    const limited = await publish();
    expect(limited.status).toBe(429);
    expect(((await limited.json()) as { msg: string }).msg).toMatch(/produce reach the limit rate, please retry later$/);
    // Reads have their own budget, and a consume that finds nothing is not charged.
    for (let i = 0; i < 3; i++) expect((await onOneApi(`/api/lim/empty?token=${token}`)).status).toBe(404);
    expect((await onOneApi(`/api/lim/q?token=${token}`)).status).toBe(200);
    const readLimited = await onOneApi(`/api/lim/q?token=${token}`);
    expect(readLimited.status).toBe(429);
    expect(((await readLimited.json()) as { msg: string }).msg).toMatch(/consume reach the limit rate/);

    const limits = (await (await ferry.admin('/limits')).json()) as { namespace: string; limiter: unknown }[];
    expect(limits.filter((l) => l.namespace === 'lim')).toEqual([{ namespace: 'lim', token: expect.any(String) as string, limiter: limit }]);
    expect(await json(await ferry.admin(path, { method: 'DELETE' }))).toEqual({ status: 200, body: { msg: 'success' } });
    expect((await publish()).status).toBe(201);
  });
});

describe('info, version, pools, metrics, health', () => {
  test('report what lmstfy reports', async () => {
    const token = await ferry.token('infons');
    // Counters are per process (each API process has its own /metrics): both publishes go to the one read here.
    for (const queue of ['alpha', 'beta']) await fetch(`${ferry.api.queueUrl}/api/infons/${queue}`, { method: 'PUT', body: 'x', headers: { 'X-Token': token } });
    await eventually(async () => expect(((await (await ferry.admin('/info')).json()) as Record<string, string[]>).infons).toEqual(['alpha', 'beta']));
    expect(await json(await ferry.admin('/pools'))).toEqual({ status: 200, body: ['default'] });
    expect((await json(await ferry.admin('/version'))).body).toMatchObject({ version: expect.any(String) as string });
    const metrics = await (await ferry.admin('/metrics')).text();
    expect(metrics).toMatch(/ferry_jobs_published_total\{namespace="infons",queue="alpha"\} 1/);
    expect(metrics).toMatch(/ferry_queue_ready_jobs\{namespace="infons",queue="alpha"\} 1/);
    expect(metrics).toMatch(/ferry_queue_dead_jobs\{namespace="infons",queue="beta"\} 0/);
    // Published moments ago, never consumed: it has waited more than 0 s and less than this test.
    const age = Number(/ferry_queue_oldest_ready_age_seconds\{namespace="infons",queue="alpha"\} ([\d.e+-]+)/.exec(metrics)?.[1]);
    expect(age).toBeGreaterThan(0);
    expect(age).toBeLessThan(60);
    expect(await json(await ferry.admin('/health'))).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await json(await ferry.admin('/ready'))).toEqual({ status: 200, body: { status: 'ready' } });
  });
});

describe('Temporal CLI', () => {
  test('`temporal workflow signal --name respawn` brings a dead job back', async () => {
    const token = await ferry.token('cli');
    const headers = { 'X-Token': token };
    const res = await ferry.queue('/api/cli/jobs', { method: 'PUT', body: 'x', headers });
    const { job_id } = (await res.json()) as { job_id: string };
    await ferry.queue('/api/cli/jobs?ttr=1', { headers });
    await eventually(async () => expect(((await (await ferry.queue('/api/cli/jobs/deadletter', { headers })).json()) as { deadletter_size: number }).deadletter_size).toBe(1));

    const cli = temporalTools().temporal ?? 'temporal';
    await promisify(execFile)(cli, [
      'workflow', 'signal',
      '--address', ferry.env.connection.options.address,
      '--workflow-id', deadLetterWorkflowId('cli', 'jobs'),
      '--name', 'respawn',
      '--input', '{"limit":1,"ttl":600}',
    ]);
    await eventually(async () => {
      const job = await ferry.queue('/api/cli/jobs', { headers });
      expect(job.status).toBe(200);
      expect((await job.json())).toMatchObject({ job_id, remain_tries: 0 });
    });

    // The job's own moments reach the worker's Prometheus endpoint.
    await ferry.queue(`/api/cli/jobs/job/${job_id}`, { method: 'DELETE', headers });
    await eventually(async () => {
      const metrics = await ferry.workerMetrics();
      expect(metrics).toMatch(/ferry_jobs_dead_total\{[^}]*namespace="cli"[^}]*\} 1/);
      expect(metrics).toMatch(/ferry_consume_to_ack_ms_count\{[^}]*namespace="cli"[^}]*\} 1/);
    });
  });
});

describe('token copies', () => {
  test("a refresh begun before this process's own write never undoes it", async () => {
    const store = new TokenStore(ferry.env.client, ferry.config.FERRY_TASK_QUEUE, 60_000, () => undefined);
    await store.start();
    try {
      const record = store.find('race', await store.create('race', 'race test'))!;
      const stale: number[] = [];
      for (let i = 1; i <= 40; i++) {
        const limit = i % 2 ? { read: i, write: i, interval: 60 } : null;
        const refreshing = store.refresh();
        await store.setLimit(record, limit);
        await refreshing;
        if (JSON.stringify(store.find('race', record.id)?.limit ?? null) !== JSON.stringify(limit)) stale.push(i);
      }
      expect(stale).toEqual([]);
    } finally {
      await store.stop();
    }
  });
});

describe('token registries per namespace', () => {
  test('a description over 1024 characters is a 400 (900 KB ones stopped new API processes)', async () => {
    const res = await ferry.admin(`/token/big?description=${'d'.repeat(1025)}`, post);
    expect(await json(res)).toEqual({ status: 400, body: { error: 'the description was too long (at most 1024 characters)' } });
    expect((await ferry.admin(`/token/big?description=${'d'.repeat(1024)}`, post)).status).toBe(201);
  });

  test('a token created through another API process works at once, by a registry read its first use starts', async () => {
    const store = new TokenStore(ferry.env.client, ferry.config.FERRY_TASK_QUEUE, 60_000, () => undefined);
    await store.start();
    try {
      // Created through the running API: this copy refreshes only every minute.
      const first = await ferry.token('read-through');
      const second = await ferry.token('read-through');
      expect(store.check('read-through', first).ok).toBe(false);
      expect((await store.verify('read-through', first)).ok).toBe(true);
      // A second miss right after waits for the next read rather than sharing a stale one.
      expect((await store.verify('read-through', second)).ok).toBe(true);
      const third = await ferry.token('read-through');
      expect((await store.verify('read-through', third)).ok).toBe(true);
      expect(await store.verify('read-through', 'not-a-token')).toEqual({ ok: false, error: 'invalid token' });
    } finally {
      await store.stop();
    }
  });

  test('a namespace at its token quota is refused; another namespace is not', async () => {
    const store = new TokenStore(ferry.env.client, ferry.config.FERRY_TASK_QUEUE, 60_000, () => undefined, 3);
    await store.start();
    try {
      for (let i = 0; i < 3; i++) await store.create('quota-tokens', `t${i}`);
      await expect(store.create('quota-tokens', 'one too many')).rejects.toThrow('a namespace has at most 3 tokens');
      await expect(store.create('quota-tokens-other', 'fine')).resolves.toEqual(expect.any(String));
      expect(store.list('quota-tokens')).toHaveLength(3);
    } finally {
      await store.stop();
    }
  });

  test('the unpartitioned token registry of an older data folder is moved at start, and its tokens keep working', async () => {
    const { client } = ferry.env;
    const secret = 'legacy-token-0123456789abcdef';
    const hash = createHash('sha256').update(secret).digest('hex');
    await client.workflow.start('TokenRegistryWorkflow', {
      workflowId: LEGACY_TOKEN_REGISTRY_WORKFLOW_ID,
      taskQueue: indexTaskQueue(ferry.config.FERRY_TASK_QUEUE),
      args: [{ version: 7, tokens: [{ namespace: 'legacy-tokens', id: hash.slice(0, 12), hash, description: 'from before', createdAt: 1 }] }],
    });
    const store = new TokenStore(client, ferry.config.FERRY_TASK_QUEUE, 60_000, () => undefined);
    await store.start();
    await store.stop();
    expect(store.check('legacy-tokens', secret).ok).toBe(true);
    expect((await client.workflow.getHandle(LEGACY_TOKEN_REGISTRY_WORKFLOW_ID).describe()).status.name).toBe('TERMINATED');
    // The running API follows the new registry through the catalog: the queue answers 404 (no job), not 401.
    await eventually(async () => expect((await ferry.queue(`/api/legacy-tokens/q?token=${secret}`)).status).toBe(404), 10_000, 200);
  });
});

describe('status', () => {
  test('/status says Temporal is reachable, who polls the task queues, and the sizes of queues with dead jobs', async () => {
    const token = await ferry.token('status-ns');
    const put = await ferry.queue(`/api/status-ns/st?tries=1&ttl=0`, { method: 'PUT', body: 'x', headers: { 'X-Token': token } });
    expect(put.status).toBe(201);
    const taken = await ferry.queue(`/api/status-ns/st?ttr=1&timeout=3`, { headers: { 'X-Token': token } });
    expect(taken.status).toBe(200);
    type Status = {
      temporal: { reachable: boolean };
      taskQueues: { taskQueue: string; kind: string; pollers: { identity: string }[] }[];
      queues: { namespace: string; queue: string; ready: number; dead: number; oldestReadyAgeSeconds: number; paused: boolean }[];
    };
    // The job's ttr runs out with no tries left: it moves to the dead letter.
    await eventually(async () => {
      const status = (await (await ferry.admin('/status')).json()) as Status;
      expect(status.temporal.reachable).toBe(true);
      expect(status.queues).toContainEqual({ namespace: 'status-ns', queue: 'st', ready: 0, dead: 1, oldestReadyAgeSeconds: 0, paused: false });
      const polled = status.taskQueues.filter((t) => t.pollers.length > 0).map((t) => `${t.taskQueue}:${t.kind}`);
      const main = ferry.config.FERRY_TASK_QUEUE;
      expect(polled).toEqual(expect.arrayContaining([`${main}:workflow`, `${main}:activity`, `${main}-index:workflow`]));
    }, 20_000, 250);
  });
});
