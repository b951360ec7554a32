import { BlockList, isIP } from 'node:net';

/**
 * Who a request comes from, for per-IP limits. `X-Forwarded-For` is believed only from the
 * configured trusted proxies: walking the header from the right (the hop nearest to us), each
 * trusted address passes the question one hop further out; the first untrusted one is the
 * client. Without trusted proxies the header is ignored, since anyone can send it.
 */
export class ClientAddresses {
  private readonly trusted: BlockList | undefined;

  /** `trustedProxies`: IP addresses and CIDR blocks (validated by the configuration). */
  constructor(trustedProxies: readonly string[]) {
    if (trustedProxies.length === 0) return;
    this.trusted = new BlockList();
    for (const entry of trustedProxies) {
      const [address = '', prefix] = entry.split('/');
      const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      if (prefix === undefined) this.trusted.addAddress(address, type);
      else this.trusted.addSubnet(address, Number(prefix), type);
    }
  }

  /** The client's address given the TCP peer and the request's X-Forwarded-For header(s). */
  resolve(peer: string | undefined, forwardedFor: string | string[] | undefined): string {
    let address = normaliseAddress(peer ?? '') ?? 'unknown';
    if (!this.trusted || forwardedFor === undefined || !this.isTrusted(address)) return address;
    const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',');
    for (let index = hops.length - 1; index >= 0; index--) {
      const hop = normaliseAddress((hops[index] ?? '').trim());
      // A garbled entry: what a trusted proxy told us ends here.
      if (hop === undefined) return address;
      address = hop;
      if (!this.isTrusted(address)) return address;
    }
    return address;
  }

  /** Whether `address` (any spelling) is one of the trusted proxies. */
  isTrusted(address: string): boolean {
    if (!this.trusted) return false;
    const normalised = normaliseAddress(address);
    if (normalised === undefined) return false;
    return this.trusted.check(normalised, isIP(normalised) === 6 ? 'ipv6' : 'ipv4');
  }
}

/** One spelling per address: IPv4-mapped IPv6 as IPv4, IPv6 in lower case; undefined if not an IP. */
export function normaliseAddress(value: string): string | undefined {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(value);
  const address = mapped?.[1] ?? value;
  const family = isIP(address);
  if (family === 0) return undefined;
  return family === 6 ? address.toLowerCase() : address;
}
