import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { Agent, request } from 'undici';
import { AddressPolicy, ForbiddenAddressError } from '../../../src/push/ssrf';

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
    ['192.0.2.1', true],
    ['198.51.100.7', true],
    ['203.0.113.200', true],
    ['198.19.255.255', true],
    ['192.88.99.1', true],
    ['255.255.255.255', true],
    ['::a00:1', true],
    ['::7f00:1', true],
    ['::ffff:7f00:1', true],
    ['0:0:0:0:0:ffff:a9fe:a9fe', true],
    ['64:ff9b::a00:1', true],
    ['2002:a00:1::', true],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', true],
    ['2001:db8::1', true],
    ['3fff::1', true],
    ['fec0::1', true],
    ['100::1', true],
    ['5f00::1', true],
    ['ff02::1', true],
    ['93.184.216.34', false],
    ['8.8.8.8', false],
    ['2a00:1450:4001:81c::200e', false],
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

  test("this host's own interface addresses are forbidden, whatever their range", () => {
    const own = Object.values(networkInterfaces()).flat().filter((a) => a !== undefined).map((a) => a.address);
    expect(own.length).toBeGreaterThan(0);
    const policy = new AddressPolicy();
    expect(own.filter((address) => policy.permits(address))).toEqual([]);
  });

  test('an allow-list opens a range, and only that range', async () => {
    const policy = new AddressPolicy(['127.0.0.1/32']);
    expect(await fetchThrough(policy, `http://127.0.0.1:${port}/`)).toBe('reached');
    expect(policy.permits('127.0.0.2')).toBe(false);
    await expect(fetchThrough(policy, 'http://10.0.0.1/')).rejects.toBeInstanceOf(ForbiddenAddressError);
  });
});
