/**
 * The Temporal Web UI that `npm start` serves, in a real headless Chromium: the README's queries
 * find the workflows they name, and a job's and an event's pages show their payloads decrypted
 * through Ferry's codec endpoint. Screenshots go to test-results/web-ui/ (git-ignored).
 * `npm run test:ui`; it needs Chromium (Debian's `chromium`, which that script installs as root).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { eventually } from '../helpers/eventually';
import type { FerryProcess } from '../helpers/ferry-process';
import { startFerryProcess } from '../helpers/ferry-process';
import { freePort } from '../helpers/ports';
import { Receiver } from '../helpers/receiver';

jest.setTimeout(240_000);

const SCREENSHOTS = join(__dirname, '..', '..', 'test-results', 'web-ui');
/** A multiple of 3 bytes, so that its base64 (what the job's input shows) stands alone. */
const JOB_MARKER = `job-marker-${randomBytes(6).toString('hex')}`;
const EVENT_MARKER = `event-marker-${randomBytes(6).toString('hex')}`;

describe('the Web UI of npm start, in Chromium', () => {
  let ferry: FerryProcess;
  let browser: Browser;
  let page: Page;
  let receiver: Receiver;
  let dataDir: string;
  let api = '';
  let admin = '';
  let ui = '';
  let token = '';
  let jobId = '';
  /** The codec endpoint's answers the page got. */
  const decodes: number[] = [];

  const call = async (url: string, init: RequestInit = {}, expected = [200, 201, 202, 204]) => {
    const json: Record<string, string> = init.body === undefined ? {} : { 'content-type': 'application/json' };
    const res = await fetch(url, { ...init, headers: { 'x-token': token, ...json, ...(init.headers as Record<string, string> | undefined) } });
    const text = await res.text();
    if (!expected.includes(res.status)) throw new Error(`${init.method ?? 'GET'} ${url}: ${res.status} ${text}`);
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  };

  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), 'ferry-web-ui-'));
    const [apiPort, adminPort, temporalPort, uiPort, metricsPort] = [await freePort(), await freePort(), await freePort(), await freePort(), await freePort()];
    [api, admin, ui] = [`http://127.0.0.1:${apiPort}`, `http://127.0.0.1:${adminPort}`, `http://127.0.0.1:${uiPort}`];
    // What `npm start` runs, the embedded dev server and its Web UI included.
    ferry = await startFerryProcess(
      'src/main.ts',
      {
        FERRY_DATA_DIR: dataDir,
        FERRY_API_PORT: String(apiPort),
        FERRY_ADMIN_PORT: String(adminPort),
        FERRY_TEMPORAL_PORT: String(temporalPort),
        FERRY_UI_PORT: String(uiPort),
        FERRY_WORKER_METRICS_PORT: String(metricsPort),
        FERRY_PUSH_ALLOW_CIDRS: '127.0.0.1/32',
        FERRY_LOG_LEVEL: 'warn',
      },
      async ({ output }) => expect(output.join('')).toContain('Ferry is running.'),
    );
    receiver = await Receiver.start();
    browser = await chromium.launch({ executablePath: process.env.FERRY_CHROMIUM ?? '/usr/bin/chromium' });
    page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    page.on('response', (res) => {
      if (res.url().startsWith(`${admin}/codec/decode`)) decodes.push(res.status());
    });

    token = (await call(`${admin}/token/demo?description=web-ui`, { method: 'POST' })).token as string;
    // A dead job: one try, consumed and never acked.
    jobId = (await call(`${api}/api/demo/emails?tries=1`, { method: 'PUT', body: JOB_MARKER, headers: { 'content-type': 'text/plain' } })).job_id as string;
    expect((await call(`${api}/api/demo/emails?ttr=1&timeout=5`)).job_id).toBe(jobId);
    await eventually(async () => expect((await call(`${api}/api/demo/emails/deadletter/size`)).size).toBe(1), 30_000);
    // A push whose delivery failed for good, and one held for a disabled endpoint.
    await call(`${api}/push/demo/endpoints`, { method: 'POST', body: JSON.stringify({ id: 'billing', url: receiver.script('/billing', 500), eventTypes: ['invoice.*'], retrySchedule: [1] }) });
    await call(`${api}/push/demo/endpoints`, { method: 'POST', body: JSON.stringify({ id: 'partner', url: receiver.script('/partner', 200), eventTypes: ['order.#'] }) });
    await call(`${api}/push/demo/endpoints/partner/disable`, { method: 'POST', body: JSON.stringify({ reason: 'partner maintenance' }) });
    await call(`${api}/push/demo/events`, { method: 'POST', body: JSON.stringify({ id: 'evt-1001', type: 'invoice.paid', data: { note: EVENT_MARKER } }) });
    await call(`${api}/push/demo/events`, { method: 'POST', body: JSON.stringify({ id: 'evt-2001', type: 'order.created', data: { order: 2001 } }) });
    await eventually(async () => {
      const dead = (await call(`${api}/push/demo/deadletter`)).deliveries as Array<{ eventId: string; held: boolean }>;
      expect(dead.map((d) => `${d.eventId}:${d.held}`).sort()).toEqual(['evt-1001:false', 'evt-2001:true']);
    }, 60_000);
  });

  afterAll(async () => {
    await browser?.close();
    await receiver?.stop();
    if (ferry) {
      ferry.child.kill('SIGTERM');
      await ferry.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** Opens the workflow list with `query` (as typed in its query box) until `workflowId` is listed. */
  const listShows = async (query: string, workflowId: string, screenshot: string) => {
    await eventually(
      async () => {
        await page.goto(`${ui}/namespaces/default/workflows?query=${encodeURIComponent(query)}`);
        await page.getByRole('link', { name: workflowId }).first().waitFor({ timeout: 10_000 });
      },
      90_000,
      1_000,
    );
    await page.screenshot({ path: join(SCREENSHOTS, `${screenshot}.png`), fullPage: true });
    return page.getByRole('link', { name: workflowId }).count();
  };

  test('the dead jobs of a queue, and the job page shows its body decrypted', async () => {
    const workflowId = `job/demo/emails/${jobId}`;
    expect(await listShows('FerryNamespace = "demo" AND FerryQueue = "emails" AND FerryState = "dead"', workflowId, 'dead-jobs')).toBe(1);
    await page.getByRole('link', { name: workflowId }).first().click();
    const body = Buffer.from(JOB_MARKER).toString('base64');
    await page.getByText(body, { exact: false }).first().waitFor({ timeout: 30_000 });
    await page.screenshot({ path: join(SCREENSHOTS, 'dead-job-input.png'), fullPage: true });
    expect(decodes.length).toBeGreaterThan(0);
    expect(decodes.every((status) => status === 200)).toBe(true);
  });

  test('the push of an event id, and its page shows the event data decrypted', async () => {
    expect(await listShows('WorkflowId = "push/demo/evt-1001"', 'push/demo/evt-1001', 'push-by-event-id')).toBe(1);
    await page.getByRole('link', { name: 'push/demo/evt-1001' }).first().click();
    await page.getByText(EVENT_MARKER, { exact: false }).first().waitFor({ timeout: 30_000 });
    await page.screenshot({ path: join(SCREENSHOTS, 'push-input.png'), fullPage: true });
  });

  test('the dead and the held deliveries of an endpoint', async () => {
    expect(await listShows('FerryDeadEndpoints = "billing"', 'push/demo/evt-1001', 'dead-deliveries-of-billing')).toBe(1);
    expect(await listShows('FerryHeldEndpoints = "partner"', 'push/demo/evt-2001', 'held-deliveries-of-partner')).toBe(1);
    expect(await page.getByRole('link', { name: 'push/demo/evt-1001' }).count()).toBe(0);
  });
});
