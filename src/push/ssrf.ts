import { lookup as dnsLookup } from 'node:dns';
import type { LookupAddress, LookupAllOptions, LookupOneOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import type { LookupFunction } from 'node:net';
import { buildConnector } from 'undici';

/** A delivery was refused because its target resolves to an address Ferry must not reach. */
export class ForbiddenAddressError extends Error {
  override readonly name = 'ForbiddenAddressError';
  readonly code = 'FERRY_FORBIDDEN_ADDRESS';
  constructor(
    readonly host: string,
    readonly address: string,
  ) {
    super(`refusing to connect to ${host} (${address}): loopback, private, link-local and metadata addresses are not allowed`);
  }
}

/** Loopback, private, link-local (cloud metadata), carrier-grade NAT, multicast and reserved ranges. */
const FORBIDDEN: [string, number, 'ipv4' | 'ipv6'][] = [
  ['0.0.0.0', 8, 'ipv4'],
  ['10.0.0.0', 8, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['127.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.0.0.0', 24, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['198.18.0.0', 15, 'ipv4'],
  ['224.0.0.0', 4, 'ipv4'],
  ['240.0.0.0', 4, 'ipv4'],
  ['::', 128, 'ipv6'],
  ['::1', 128, 'ipv6'],
  ['64:ff9b::', 96, 'ipv6'],
  ['fc00::', 7, 'ipv6'],
  ['fe80::', 10, 'ipv6'],
  ['ff00::', 8, 'ipv6'],
];

/**
 * Decides which addresses deliveries may reach. `allow` (CIDRs such as `127.0.0.1/32`) opens
 * forbidden ranges, for tests and local development. IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`)
 * are judged as the IPv4 address they carry.
 */
export class AddressPolicy {
  private readonly forbidden = new BlockList();
  private readonly allowed = new BlockList();

  constructor(allow: readonly string[] = []) {
    for (const [network, prefix, family] of FORBIDDEN) this.forbidden.addSubnet(network, prefix, family);
    for (const cidr of allow) {
      const [network = '', prefix] = cidr.split('/');
      const family = isIP(network) === 6 ? 'ipv6' : 'ipv4';
      this.allowed.addSubnet(network, Number(prefix ?? (family === 'ipv6' ? 128 : 32)), family);
    }
  }

  permits(address: string): boolean {
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    return !this.forbidden.check(address, family) || this.allowed.check(address, family);
  }

  /** A DNS lookup that fails when any address the name resolves to is not permitted. */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    dnsLookup(hostname, { ...(options as LookupOneOptions), all: true } as LookupAllOptions, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      const refused = addresses.find((a) => !this.permits(a.address));
      if (refused) return callback(new ForbiddenAddressError(hostname, refused.address), '', 0);
      if ((options as LookupAllOptions).all) return (callback as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const [first] = addresses;
      callback(null, first?.address ?? '', first?.family ?? 4);
    });
  };

  /**
   * An undici connector that checks every connection: names after DNS resolution, IP literals
   * directly (Node connects to those without a lookup).
   */
  connector(options: buildConnector.BuildOptions = {}): buildConnector.connector {
    const connect = buildConnector({ ...options, lookup: this.lookup });
    return (target, callback) => {
      const host = target.hostname.replace(/^\[|\]$/g, '');
      if (isIP(host) && !this.permits(host)) return callback(new ForbiddenAddressError(target.hostname, host), null);
      connect(target, callback);
    };
  }
}
