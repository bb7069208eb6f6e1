import type { FerryUnderTest } from '../helpers/ferry';
import { useFerry } from '../helpers/ferry';
import { eventually } from '../helpers/eventually';

let ferry: FerryUnderTest;
let token: string;
const ns = 'apitest';
let queueCounter = 0;
const freshQueue = () => `q${++queueCounter}`;

useFerry(async (started) => {
  ferry = started;
  token = await started.token(ns);
});

const auth = { 'X-Token': '' };
const withToken = (init: RequestInit = {}): RequestInit => ({ ...init, headers: { ...(init.headers as object), 'X-Token': token } });
const json = async (res: Response) => ({ status: res.status, body: (await res.json()) as Record<string, unknown> });

async function publish(queue: string, body = 'hello', query = '', headers: Record<string, string> = {}) {
  const res = await ferry.queue(`/api/${ns}/${queue}${query}`, withToken({ method: 'PUT', body, headers }));
  expect(res.status).toBe(201);
  return ((await res.json()) as { job_id: string }).job_id;
}

const consume = (queue: string, query = '') => ferry.queue(`/api/${ns}/${queue}${query}`, withToken());

describe('auth and request ids', () => {
  test('a missing token is 401 "token not found", a wrong one 401 "invalid token"', async () => {
    expect(await json(await ferry.queue(`/api/${ns}/q`))).toEqual({ status: 401, body: { error: 'token not found' } });
    expect(await json(await ferry.queue(`/api/${ns}/q`, { headers: { 'X-Token': 'nope' } }))).toEqual({
      status: 401,
      body: { error: 'invalid token' },
    });
    expect(await json(await ferry.queue(`/api/${ns}/q?token=nope`, { headers: auth }))).toEqual({
      status: 401,
      body: { error: 'invalid token' },
    });
  });

  test('the token works by header, by query, with the default pool prefix, and only in its namespace', async () => {
    expect((await ferry.queue(`/api/${ns}/authq`, { headers: { 'X-Token': token } })).status).toBe(404);
    expect((await ferry.queue(`/api/${ns}/authq?token=${token}`)).status).toBe(404);
    expect((await ferry.queue(`/api/${ns}/authq`, { headers: { 'X-Token': `default:${token}` } })).status).toBe(404);
    expect(await json(await ferry.queue(`/api/${ns}/authq`, { headers: { 'X-Token': `other:${token}` } }))).toEqual({
      status: 404,
      body: { error: 'pool not found' },
    });
    expect((await ferry.queue(`/api/othernamespace/authq`, { headers: { 'X-Token': token } })).status).toBe(401);
  });

  test('every response carries X-Request-ID, errors and 204s included', async () => {
    const responses = [
      await ferry.queue('/nowhere'),
      await ferry.queue(`/api/${ns}/q`),
      await ferry.queue(`/api/${ns}/q/job/x`, withToken({ method: 'DELETE' })),
      await ferry.admin('/version'),
    ];
    for (const res of responses) expect(res.headers.get('x-request-id')).toMatch(/^[0-9A-Z]{26}$/);
    expect(await json(responses[0]!)).toEqual({ status: 404, body: { error: 'api not found' } });
  });
});

describe('publish and consume', () => {
  test('publish answers 201 with the job id; consume returns every lmstfy field', async () => {
    const queue = freshQueue();
    const jobId = await publish(queue, 'payload \u00e9');
    const res = await consume(queue, '?ttr=30');
    expect(res.status).toBe(200);
    const job = (await res.json()) as Record<string, unknown>;
    expect(job).toEqual({
      msg: 'new job',
      namespace: ns,
      queue,
      job_id: jobId,
      data: Buffer.from('payload \u00e9').toString('base64'),
      ttl: expect.any(Number) as number,
      elapsed_ms: expect.any(Number) as number,
      remain_tries: 0,
      attributes: null,
    });
    expect(job.ttl).toBeGreaterThan(86390);
    expect(job.ttl).toBeLessThanOrEqual(86400);
  });

  test('an empty queue answers 404 {"msg":"no job available"}', async () => {
    expect(await json(await consume(freshQueue()))).toEqual({ status: 404, body: { msg: 'no job available' } });
  });

  test('a job published without delay is returned by the very next timeout=0 consume', async () => {
    const queue = freshQueue();
    for (let i = 0; i < 5; i++) {
      const jobId = await publish(queue, `n${i}`);
      expect(((await (await consume(queue)).json()) as { job_id: string }).job_id).toBe(jobId);
    }
  });

  test.each([
    ['?delay=abc', 'invalid delay'],
    ['?delay=4294967296', 'invalid delay'],
    ['?delay=-1', 'invalid delay'],
    ['?ttl=', 'invalid ttl'],
    ['?ttl=1.5', 'invalid ttl'],
    ['?ttl=5&delay=10', 'ttl is shorter than delay'],
    ['?tries=65536', 'invalid tries'],
    ['?tries=0', "tries shouldn't be zero"],
  ])('publish%s is 400 "%s"', async (query, error) => {
    const res = await ferry.queue(`/api/${ns}/v${query}`, withToken({ method: 'PUT', body: 'x' }));
    expect(await json(res)).toEqual({ status: 400, body: { error } });
  });

  test.each([
    [`/api/${ns}/${'q'.repeat(256)}`, 'namespace or queue name too long'],
    [`/api/${'n'.repeat(256)}/q`, 'namespace or queue name too long'],
    ['/api/bad.ns/q', 'namespace name contains forbidden characters'],
    [`/api/${ns}/_hidden`, 'queue name contains forbidden characters'],
    [`/api/${ns}/caf%C3%A9`, 'queue name contains forbidden characters'],
  ])('publish to %s is 400 "%s"', async (path, error) => {
    expect(await json(await ferry.queue(path, withToken({ method: 'PUT', body: 'x' })))).toEqual({ status: 400, body: { error } });
  });

  test('bodies of 64 KiB and more are 413 "body too large"; 64 KiB - 1 is accepted', async () => {
    const queue = freshQueue();
    const tooLarge = await ferry.queue(`/api/${ns}/${queue}`, withToken({ method: 'PUT', body: Buffer.alloc(65536, 1) }));
    expect(await json(tooLarge)).toEqual({ status: 413, body: { error: 'body too large' } });
    await publish(queue, 'x'.repeat(65535));
    const job = (await (await consume(queue)).json()) as { data: string };
    expect(Buffer.from(job.data, 'base64').length).toBe(65535);
  });

  test('consume parameters are validated', async () => {
    for (const [query, error] of [
      ['?ttr=x', 'invalid ttr'],
      ['?timeout=-1', 'invalid timeout'],
      ['?count=0', 'invalid count'],
      ['?count=101', 'invalid count'],
    ]) {
      expect(await json(await consume('cq', query))).toEqual({ status: 400, body: { error } });
    }
    expect(await json(await consume(',,'))).toEqual({ status: 400, body: { error: 'invalid queue name(s)' } });
  });

  test('count > 1 answers an array, oldest first, even with a single job', async () => {
    const queue = freshQueue();
    const ids = [await publish(queue, 'a'), await publish(queue, 'b'), await publish(queue, 'c')];
    const two = (await (await consume(queue, '?count=2')).json()) as { job_id: string }[];
    expect(two.map((j) => j.job_id)).toEqual(ids.slice(0, 2));
    const rest = (await (await consume(queue, '?count=5')).json()) as { job_id: string }[];
    expect(rest.map((j) => j.job_id)).toEqual([ids[2]]);
  });

  test('several queues are consumed in priority order and the job names its queue', async () => {
    const [high, low] = [freshQueue(), freshQueue()];
    const lowJob = await publish(low);
    const highJob = await publish(high);
    const first = (await (await consume(`${high},${low}`)).json()) as { job_id: string; queue: string };
    expect(first).toMatchObject({ job_id: highJob, queue: high });
    const second = (await (await consume(`${high},,${low}`)).json()) as { job_id: string; queue: string };
    expect(second).toMatchObject({ job_id: lowJob, queue: low });
  });

  test('freeze_tries=true consumes without spending a try', async () => {
    const queue = freshQueue();
    await publish(queue, 'x', '?tries=2');
    expect(((await (await consume(queue, '?freeze_tries=true&ttr=1')).json()) as { remain_tries: number }).remain_tries).toBe(2);
  });

  test('a long poll returns a job published while it waits', async () => {
    const queue = freshQueue();
    const started = Date.now();
    const polling = consume(queue, '?timeout=10');
    await new Promise((r) => setTimeout(r, 500));
    const jobId = await publish(queue);
    const res = await polling;
    expect(res.status).toBe(200);
    expect(((await res.json()) as { job_id: string }).job_id).toBe(jobId);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test('a long poll on several queues is answered by whichever gets a job first', async () => {
    // The wait on the other queue must end with the answer: left running, it would outlive the
    // API and crash the process when the suite closes the Temporal connection.
    const [first, second] = [freshQueue(), freshQueue()];
    const polling = consume(`${first},${second}`, '?timeout=300');
    await new Promise((r) => setTimeout(r, 300));
    const jobId = await publish(second);
    const job = (await (await polling).json()) as { job_id: string; queue: string };
    expect(job).toMatchObject({ job_id: jobId, queue: second });
  });

  test('a long poll on an empty queue answers 404 after its timeout', async () => {
    const started = Date.now();
    expect((await consume(freshQueue(), '?timeout=2')).status).toBe(404);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
  });

  test('attributes are kept with Enable-Job-Version: YES', async () => {
    const queue = freshQueue();
    await publish(queue, 'x', '', { 'Enable-Job-Version': 'YES', 'Job-Attr-Region': 'eu', 'job-attr-UPPER': 'V' });
    const job = (await (await consume(queue)).json()) as { attributes: unknown };
    expect(job.attributes).toEqual({ region: 'eu', upper: 'V' });
    const many = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`Job-Attr-k${i}`, 'v']));
    const res = await ferry.queue(`/api/${ns}/${queue}`, withToken({ method: 'PUT', body: 'x', headers: { 'Enable-Job-Version': 'yes', ...many } }));
    expect(await json(res)).toEqual({ status: 400, body: { error: 'too many attributes, cannot exceed 16' } });
  });

  test('Idempotency-Key makes a retried publish return the same job and create nothing', async () => {
    const queue = freshQueue();
    const headers = { 'Idempotency-Key': 'order-42' };
    const first = await publish(queue, 'x', '', headers);
    const second = await publish(queue, 'x', '', headers);
    expect(second).toBe(first);
    const again = await ferry.queue(`/api/${ns}/${queue}`, withToken({ method: 'PUT', body: 'x', headers }));
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await json(await ferry.queue(`/api/${ns}/${queue}/size`))).toEqual({ status: 200, body: { namespace: ns, queue, size: 1 } });
  });
});

describe('bulk publish', () => {
  test('publishes each element as written, in order', async () => {
    const queue = freshQueue();
    const res = await ferry.queue(`/api/${ns}/${queue}/bulk`, withToken({ method: 'PUT', body: '[{"msg":  "hi" }, "s", 12345678901234567890]' }));
    expect(res.status).toBe(201);
    const { job_ids } = (await res.json()) as { job_ids: string[] };
    expect(job_ids).toHaveLength(3);
    const jobs = (await (await consume(queue, '?count=3')).json()) as { job_id: string; data: string }[];
    expect(jobs.map((j) => j.job_id)).toEqual(job_ids);
    expect(jobs.map((j) => Buffer.from(j.data, 'base64').toString())).toEqual(['{"msg":  "hi" }', '"s"', '12345678901234567890']);
  });

  test.each([
    ['an object', '{"a":1}', 400, 'request body should be an array of objects'],
    ['an empty body', '', 400, 'request body should be an array of objects'],
    ['an empty array', '[]', 400, 'no jobs'],
    ['65 elements', JSON.stringify(Array.from({ length: 65 }, () => 1)), 400, 'too many jobs'],
    ['a 70 kB element', JSON.stringify(['x'.repeat(70000)]), 413, 'job too large'],
  ])('%s is %i "%s"', async (_label, body, status, error) => {
    const res = await ferry.queue(`/api/${ns}/bulkq/bulk`, withToken({ method: 'PUT', body }));
    expect(await json(res)).toEqual({ status, body: { error } });
  });
});

describe('ack, peek, size, destroy, republish', () => {
  test('ack answers 204, also for unknown ids, and the job is never delivered again', async () => {
    const queue = freshQueue();
    const jobId = await publish(queue);
    await consume(queue, '?ttr=1');
    expect((await ferry.queue(`/api/${ns}/${queue}/job/${jobId}`, withToken({ method: 'DELETE' }))).status).toBe(204);
    expect((await ferry.queue(`/api/${ns}/${queue}/job/UNKNOWN`, withToken({ method: 'DELETE' }))).status).toBe(204);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await consume(queue)).status).toBe(404);
    expect(await json(await ferry.queue(`/api/${ns}/${queue}/job/${jobId}`, withToken()))).toEqual({
      status: 404,
      body: { error: 'job not found' },
    });
  });

  test('peek shows the head without consuming it; peek by id shows any live job', async () => {
    const queue = freshQueue();
    expect(await json(await ferry.queue(`/api/${ns}/${queue}/peek`, withToken()))).toEqual({ status: 404, body: { error: 'job not found' } });
    const first = await publish(queue, 'one');
    await publish(queue, 'two');
    const delayed = await publish(queue, 'later', '?delay=60');
    for (let i = 0; i < 2; i++) {
      const head = (await (await ferry.queue(`/api/${ns}/${queue}/peek`, withToken())).json()) as { job_id: string };
      expect(head.job_id).toBe(first);
    }
    expect((await json(await ferry.queue(`/api/${ns}/${queue}/size`))).body.size).toBe(2);
    const peeked = await json(await ferry.queue(`/api/${ns}/${queue}/job/${delayed}`, withToken()));
    expect(peeked.status).toBe(200);
    expect(peeked.body).toMatchObject({ job_id: delayed, data: Buffer.from('later').toString('base64'), remain_tries: 1 });
  });

  test('size needs no token and counts only ready jobs', async () => {
    const queue = freshQueue();
    await publish(queue);
    await publish(queue, 'later', '?delay=60');
    expect(await json(await ferry.queue(`/api/${ns}/${queue}/size`))).toEqual({ status: 200, body: { namespace: ns, queue, size: 1 } });
  });

  test('destroy drops the ready jobs and answers 204', async () => {
    const queue = freshQueue();
    await publish(queue);
    await publish(queue);
    expect((await ferry.queue(`/api/${ns}/${queue}`, withToken({ method: 'DELETE' }))).status).toBe(204);
    expect((await json(await ferry.queue(`/api/${ns}/${queue}/size`))).body.size).toBe(0);
    expect((await consume(queue)).status).toBe(404);
  });

  test('republish replaces a job by a new one; invalid input keeps the old job', async () => {
    const queue = freshQueue();
    const old = await publish(queue, 'v1');
    const bad = await ferry.queue(`/api/${ns}/${queue}/job/${old}?tries=x`, withToken({ method: 'PUT', body: 'v2' }));
    expect(await json(bad)).toEqual({ status: 400, body: { error: 'invalid tries' } });
    expect((await ferry.queue(`/api/${ns}/${queue}/job/${old}`, withToken())).status).toBe(200);
    const res = await ferry.queue(`/api/${ns}/${queue}/job/${old}`, withToken({ method: 'PUT', body: 'v2' }));
    expect(res.status).toBe(201);
    const { job_id } = (await res.json()) as { job_id: string };
    expect(job_id).not.toBe(old);
    await eventually(async () => expect((await ferry.queue(`/api/${ns}/${queue}/job/${old}`, withToken())).status).toBe(404));
    const job = (await (await consume(queue)).json()) as { job_id: string; data: string };
    expect(job).toMatchObject({ job_id, data: Buffer.from('v2').toString('base64') });
  });
});

describe('pause and resume', () => {
  test('a paused queue takes publishes, answers consumes "no job", keeps long polls waiting and wakes them on resume', async () => {
    const queue = freshQueue();
    expect((await ferry.queue(`/api/${ns}/${queue}/pause`, { method: 'POST' })).status).toBe(401);
    expect(await json(await ferry.queue(`/api/${ns}/${queue}/pause`, withToken({ method: 'POST' })))).toEqual({ status: 200, body: { namespace: ns, queue, paused: true } });
    const jobId = await publish(queue, 'held while paused');
    expect(await json(await ferry.queue(`/api/${ns}/${queue}/size`))).toEqual({ status: 200, body: { namespace: ns, queue, size: 1, paused: true } });
    expect(await json(await consume(queue, '?timeout=0'))).toEqual({ status: 404, body: { msg: 'no job available' } });

    const started = Date.now();
    const polling = consume(queue, '?timeout=20');
    await new Promise((r) => setTimeout(r, 1500));
    expect(await json(await ferry.queue(`/api/${ns}/${queue}/resume`, withToken({ method: 'POST' })))).toEqual({ status: 200, body: { namespace: ns, queue, paused: false } });
    const woken = await json(await polling);
    expect(woken).toMatchObject({ status: 200, body: { job_id: jobId } });
    // Woken by the resume, after the 1.5 s it was paused and well before its 20 s.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(await json(await ferry.queue(`/api/${ns}/${queue}/size`))).toEqual({ status: 200, body: { namespace: ns, queue, size: 0 } });
  });
});

describe('dead letter', () => {
  test('a job out of tries moves to the dead letter, is respawned with the new ttl, and deleted', async () => {
    const queue = freshQueue();
    expect(await json(await ferry.queue(`/api/${ns}/${queue}/deadletter`, withToken()))).toEqual({
      status: 200,
      body: { namespace: ns, queue, deadletter_size: 0, deadletter_head: '' },
    });
    const first = await publish(queue, 'a');
    const second = await publish(queue, 'b');
    await consume(queue, '?ttr=1');
    await consume(queue, '?ttr=1');
    await eventually(async () =>
      expect((await json(await ferry.queue(`/api/${ns}/${queue}/deadletter`, withToken()))).body).toEqual({
        namespace: ns,
        queue,
        deadletter_size: 2,
        deadletter_head: first,
      }),
    );
    expect(await json(await ferry.queue(`/api/${ns}/${queue}/deadletter/size`))).toEqual({ status: 200, body: { namespace: ns, queue, size: 2 } });

    for (const query of ['?limit=0', '?limit=x']) {
      expect(await json(await ferry.queue(`/api/${ns}/${queue}/deadletter${query}`, withToken({ method: 'PUT' })))).toEqual({
        status: 400,
        body: { error: 'invalid limit' },
      });
    }
    const respawned = await ferry.queue(`/api/${ns}/${queue}/deadletter?limit=1&ttl=300`, withToken({ method: 'PUT' }));
    expect(await json(respawned)).toEqual({ status: 200, body: { msg: 'respawned', count: 1 } });
    await eventually(async () => expect((await json(await ferry.queue(`/api/${ns}/${queue}/size`))).body.size).toBe(1));
    const job = (await (await consume(queue)).json()) as { job_id: string; ttl: number; remain_tries: number };
    expect(job).toMatchObject({ job_id: first, remain_tries: 0 });
    expect(job.ttl).toBeGreaterThan(295);
    expect(job.ttl).toBeLessThanOrEqual(300);

    expect((await ferry.queue(`/api/${ns}/${queue}/deadletter?limit=5`, withToken({ method: 'DELETE' }))).status).toBe(204);
    expect((await json(await ferry.queue(`/api/${ns}/${queue}/deadletter`, withToken()))).body).toMatchObject({
      deadletter_size: 0,
      deadletter_head: '',
    });
    await eventually(async () => expect((await ferry.queue(`/api/${ns}/${queue}/job/${second}`, withToken())).status).toBe(404));
  });
});

describe('read-only methods', () => {
  test('HEAD on any queue route changes nothing: the job stays ready and is consumed whole afterwards', async () => {
    const queue = freshQueue();
    const jobId = await publish(queue, 'kept');
    for (const path of [`/api/${ns}/${queue}`, `/api/${ns}/${queue}?timeout=1&ttr=30`, `/api/${ns}/${queue}/peek`, `/api/${ns}/${queue}/job/${jobId}`]) {
      const res = await ferry.queue(path, withToken({ method: 'HEAD' }));
      expect(res.status).toBe(404);
    }
    expect(await json(await ferry.queue(`/api/${ns}/${queue}/size`))).toMatchObject({ status: 200, body: { size: 1 } });
    const taken = await json(await consume(queue));
    expect(taken.status).toBe(200);
    expect(taken.body).toMatchObject({ job_id: jobId, remain_tries: 0 });
    expect(await json(await ferry.queue(`/api/${ns}/${queue}/deadletter/size`))).toMatchObject({ body: { size: 0 } });
  });
});
