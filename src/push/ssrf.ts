import { lookup as dnsLookup } from 'node:dns';
import type { LookupAddress, LookupAllOptions, LookupOneOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import type { LookupFunction } from 'node:net';
import { networkInterfaces } from 'node:os';
import { buildConnector } from 'undici';
import { ErrorCode, FerryError } from '../errors';

/** A delivery was refused because its target resolves to an address Ferry must not reach. */
export class ForbiddenAddressError extends FerryError {
  override readonly name = 'ForbiddenAddressError';
  constructor(
    readonly host: string,
    readonly address: string,
  ) {
    super(ErrorCode.ForbiddenAddress, `refusing to connect to ${host} (${address}): only globally reachable addresses other than this host's own are allowed`);
  }
}

/**
 * Every range of IANA's IPv4 and IPv6 special-purpose address registries that is not globally
 * reachable, plus multicast. IPv6 is stricter still: only global unicast (2000::/3) is allowed,
 * which also rules out IPv4-compatible (::a.b.c.d), NAT64 (64:ff9b::/96), ULA, link- and
 * site-local addresses. Addresses that embed an IPv4 address and route to it (6to4, Teredo) are
 * refused, as the embedded address could be anything.
 */
const FORBIDDEN: [string, number, 'ipv4' | 'ipv6'][] = [
  ['0.0.0.0', 8, 'ipv4'], // "this network"
  ['10.0.0.0', 8, 'ipv4'], // private
  ['100.64.0.0', 10, 'ipv4'], // carrier-grade NAT
  ['127.0.0.0', 8, 'ipv4'], // loopback
  ['169.254.0.0', 16, 'ipv4'], // link-local, cloud metadata
  ['172.16.0.0', 12, 'ipv4'], // private
  ['192.0.0.0', 24, 'ipv4'], // IETF protocol assignments
  ['192.0.2.0', 24, 'ipv4'], // documentation (TEST-NET-1)
  ['192.88.99.0', 24, 'ipv4'], // 6to4 relay anycast (deprecated)
  ['192.168.0.0', 16, 'ipv4'], // private
  ['198.18.0.0', 15, 'ipv4'], // benchmarking
  ['198.51.100.0', 24, 'ipv4'], // documentation (TEST-NET-2)
  ['203.0.113.0', 24, 'ipv4'], // documentation (TEST-NET-3)
  ['224.0.0.0', 4, 'ipv4'], // multicast
  ['240.0.0.0', 4, 'ipv4'], // reserved, broadcast
  ['::', 3, 'ipv6'], // outside global unicast: ::, ::1, ::/96, ::ffff:0:0/96 (judged as IPv4), 64:ff9b::/96, 100::/64
  ['4000::', 2, 'ipv6'], // outside global unicast: 5f00::/16 (SRv6) and unassigned
  ['8000::', 1, 'ipv6'], // outside global unicast: fc00::/7, fe80::/10, fec0::/10, ff00::/8
  ['2001::', 23, 'ipv6'], // IETF protocol assignments, Teredo (2001::/32)
  ['2001:db8::', 32, 'ipv6'], // documentation
  ['2002::', 16, 'ipv6'], // 6to4
  ['3fff::', 20, 'ipv6'], // documentation
];

/** The IPv4 address an IPv4-mapped IPv6 address (::ffff:a.b.c.d, in any spelling) carries. */
function mappedIPv4(address: string): string | undefined {
  if (isIP(address) !== 6) return undefined;
  // The URL parser writes every IPv6 address in one canonical form: ::ffff:7f00:1.
  const match = /^\[::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})\]$/.exec(new URL(`http://[${address}]`).hostname);
  if (!match) return undefined;
  const [high, low] = [parseInt(match[1]!, 16), parseInt(match[2]!, 16)];
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}

/** This host's own interface addresses: a delivery must not reach the machine Ferry runs on. */
const ownAddresses = (): { address: string; family: 'ipv4' | 'ipv6' }[] =>
  Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined)
    .map((a) => ({ address: a.address, family: a.family === 'IPv6' ? 'ipv6' : 'ipv4' }));

/**
 * Decides which addresses deliveries may reach. `allow` (CIDRs such as `127.0.0.1/32`) opens
 * forbidden ranges, for tests and local development. IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`)
 * are judged as the IPv4 address they carry.
 */
export class AddressPolicy {
  /** One list per family: Node matches IPv4 addresses against IPv6 rules as ::ffff:a.b.c.d, which ::/3 covers. */
  private readonly forbidden = { ipv4: new BlockList(), ipv6: new BlockList() };
  private readonly allowed = new BlockList();

  constructor(allow: readonly string[] = []) {
    for (const [network, prefix, family] of FORBIDDEN) this.forbidden[family].addSubnet(network, prefix, family);
    for (const { address, family } of ownAddresses()) this.forbidden[family].addAddress(address, family);
    for (const cidr of allow) {
      const [network = '', prefix] = cidr.split('/');
      const family = isIP(network) === 6 ? 'ipv6' : 'ipv4';
      this.allowed.addSubnet(network, Number(prefix ?? (family === 'ipv6' ? 128 : 32)), family);
    }
  }

  permits(literal: string): boolean {
    const address = mappedIPv4(literal) ?? literal;
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    return !this.forbidden[family].check(address, family) || this.allowed.check(address, family);
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
