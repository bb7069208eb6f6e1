import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { Client } from '@temporalio/client';
import { temporalTools } from '../../src/local-temporal/tools';
import { jobWorkflowId } from '../../src/workflows/ids';
import type { FerryUnderTest } from '../helpers/ferry';
import { useFerry } from '../helpers/ferry';

/** Temporal's remote codec protocol on the admin API, as the Web UI and `--codec-endpoint` use it. */
let ferry: FerryUnderTest;
useFerry((started) => {
  ferry = started;
});

const b64 = (text: string) => Buffer.from(text).toString('base64');
const codec = (verb: 'encode' | 'decode', body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${ferry.api.adminUrl}/codec/${verb}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

test('encode then decode gives the payload back; encoded, only the encoding and key id are readable', async () => {
  const plain = { metadata: { encoding: b64('json/plain') }, data: b64('"codec-endpoint-marker"') };
  const encoded = (await (await codec('encode', { payloads: [plain] })).json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
  expect(Buffer.from(encoded.payloads[0]!.metadata.encoding!, 'base64').toString()).toBe('binary/encrypted');
  expect(Object.keys(encoded.payloads[0]!.metadata).sort()).toEqual(['encoding', 'encryption-key-id']);
  expect(Buffer.from(encoded.payloads[0]!.data, 'base64').toString('latin1')).not.toContain('codec-endpoint-marker');
  const decoded = await codec('decode', encoded);
  expect(await decoded.json()).toEqual({ payloads: [plain] });
});

test("decodes what Ferry wrote to Temporal, and `temporal workflow show --codec-endpoint` shows a job's body", async () => {
  const token = await ferry.token('codec');
  const marker = `job-body-${randomBytes(6).toString('hex')}`;
  const res = await ferry.queue('/api/codec/q', { method: 'PUT', headers: { 'X-Token': token }, body: marker });
  const { job_id: jobId } = (await res.json()) as { job_id: string };
  const workflowId = jobWorkflowId('codec', 'q', jobId);

  // As stored: a client without the codec reads only ciphertext.
  const raw = new Client({ connection: ferry.env.connection, namespace: ferry.env.namespace ?? 'default' });
  const history = await raw.workflow.getHandle(workflowId).fetchHistory();
  const stored = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
  const wire = {
    metadata: Object.fromEntries(Object.entries(stored.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    data: Buffer.from(stored.data!).toString('base64'),
  };
  expect(Buffer.from(wire.data, 'base64').toString('latin1')).not.toContain(b64(marker));
  const decoded = (await (await codec('decode', { payloads: [wire] })).json()) as { payloads: { data: string }[] };
  expect(JSON.parse(Buffer.from(decoded.payloads[0]!.data, 'base64').toString())).toMatchObject({ jobId, data: b64(marker) });

  const cli = temporalTools().temporal ?? 'temporal';
  /** Every payload's data the CLI prints (base64 in its JSON output), decoded. */
  const shownData = async (extra: string[]) => {
    const { stdout } = await promisify(execFile)(cli, ['workflow', 'show', '--address', ferry.env.connection.options.address, '--workflow-id', workflowId, '-o', 'json', ...extra]);
    return [...stdout.matchAll(/"data":\s*"([A-Za-z0-9+/=]+)"/g)].map((m) => Buffer.from(m[1]!, 'base64').toString('latin1')).join('\n');
  };
  expect(await shownData([])).not.toContain(b64(marker));
  expect(await shownData(['--codec-endpoint', `${ferry.api.adminUrl}/codec`])).toContain(b64(marker));
});

test('a payload under a key this process does not have, or altered, is a 400 with a JSON error', async () => {
  const foreign = { metadata: { encoding: b64('binary/encrypted'), 'encryption-key-id': b64('retired') }, data: b64('x'.repeat(40)) };
  const unknown = await codec('decode', { payloads: [foreign] });
  expect([unknown.status, await unknown.json()]).toEqual([400, { error: 'a payload is encrypted with key "retired", which is not among FERRY_CODEC_KEYS' }]);

  const encoded = (await (await codec('encode', { payloads: [{ metadata: { encoding: b64('json/plain') }, data: b64('1') }] })).json()) as {
    payloads: { metadata: Record<string, string>; data: string }[];
  };
  const altered = Buffer.from(encoded.payloads[0]!.data, 'base64');
  altered[14] = altered[14]! ^ 1;
  const res = await codec('decode', { payloads: [{ ...encoded.payloads[0], data: altered.toString('base64') }] });
  expect([res.status, await res.json()]).toEqual([400, { error: 'a payload could not be decrypted' }]);
  expect((await codec('decode', { payloads: [{ data: 'not base64!' }] })).status).toBe(400);
});

test("the Web UI's origin may call it from a browser; other origins may not", async () => {
  const preflight = (origin: string) =>
    fetch(`${ferry.api.adminUrl}/codec/decode`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' },
    });
  const ui = `http://127.0.0.1:${ferry.config.FERRY_UI_PORT}`;
  const allowed = await preflight(ui);
  expect(allowed.status).toBe(204);
  expect(allowed.headers.get('access-control-allow-origin')).toBe(ui);
  expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
  expect(allowed.headers.get('access-control-allow-headers')).toContain('x-namespace');
  const other = await preflight('http://evil.example');
  expect(other.headers.get('access-control-allow-origin')).toBeNull();
  const simple = await codec('encode', { payloads: [] }, { origin: ui });
  expect(simple.headers.get('access-control-allow-origin')).toBe(ui);
});
