import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { AddressPolicy, ForbiddenAddressError } from '../../src/push/ssrf';

// A real local receiver; the guard must refuse it unless allow-listed. Forbidden non-local targets
// are refused before any packet is sent.
let server: ReturnType<typeof createServer>;
let port: number;

beforeAll(async () => {
  server = createServer((_req, res) => res.end('reached'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

async function fetchThrough(policy: AddressPolicy, url: string): Promise<string> {
  const dispatcher = new Agent({ connect: policy.connector({ timeout: 2000 }) });
  try {
    const res = await request(url, { dispatcher });
    return await res.body.text();
  } finally {
    await dispatcher.close();
  }
}

describe('SSRF guard', () => {
  test.each([
    ['127.0.0.1', true],
    ['10.1.2.3', true],
    ['172.20.0.1', true],
    ['192.168.1.1', true],
    ['169.254.169.254', true],
    ['100.64.0.1', true],
    ['0.0.0.0', true],
    ['::1', true],
    ['fd00:ec2::254', true],
    ['fe80::1', true],
    ['::ffff:127.0.0.1', true],
    ['::ffff:10.0.0.1', true],
    ['93.184.216.34', false],
    ['2606:2800:220:1:248:1893:25c8:1946', false],
    ['::ffff:93.184.216.34', false],
  ])('%s is forbidden: %s', (address, forbidden) => {
    expect(new AddressPolicy().permits(address)).toBe(!forbidden);
  });

  test.each([
    ['127.0.0.1 by IP', () => `http://127.0.0.1:${port}/`],
    ['localhost by name, after DNS', () => `http://localhost:${port}/`],
    ['IPv4-mapped IPv6 loopback', () => `http://[::ffff:127.0.0.1]:${port}/`],
    ['the cloud metadata address', () => 'http://169.254.169.254/latest/meta-data/'],
    ['a private 10.x address', () => 'http://10.0.0.1/'],
  ])('refuses %s', async (_label, url) => {
    await expect(fetchThrough(new AddressPolicy(), url())).rejects.toBeInstanceOf(ForbiddenAddressError);
  });

  test('an allow-list opens a range, and only that range', async () => {
    const policy = new AddressPolicy(['127.0.0.1/32']);
    expect(await fetchThrough(policy, `http://127.0.0.1:${port}/`)).toBe('reached');
    expect(policy.permits('127.0.0.2')).toBe(false);
    await expect(fetchThrough(policy, 'http://10.0.0.1/')).rejects.toBeInstanceOf(ForbiddenAddressError);
  });
});
