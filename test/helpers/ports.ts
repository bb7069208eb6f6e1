import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * A loopback port that is free now and stays out of the kernel's ephemeral range, for servers a
 * test starts in another process and may restart on the same port. A port from the ephemeral range
 * (what `listen(0)` hands out) can be taken while its server is down by any outgoing connection's
 * local end, and the restart then fails with EADDRINUSE.
 */
export async function freePort(): Promise<number> {
  const [low, high] = ephemeralRange();
  // Below 32,000 and 100 apart from the ephemeral range: a Temporal server uses ports up to 26
  // above its frontend's, and PostgreSQL keeps its membership ports as smallint.
  const candidates = low > 10_000 ? [10_000, Math.min(32_000, low - 100)] : [high + 1, 65_535];
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = candidates[0]! + Math.floor(Math.random() * (candidates[1]! - candidates[0]! + 1));
    if (await canListen(port)) return port;
  }
  throw new Error('no free loopback port outside the ephemeral range');
}

function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low && high) return [low, high];
  } catch {
    // Not Linux: the IANA dynamic range.
  }
  return [49_152, 65_535];
}

async function canListen(port: number): Promise<boolean> {
  const server = createServer();
  const listening = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (listening) await new Promise((resolve) => server.close(resolve));
  return listening;
}
