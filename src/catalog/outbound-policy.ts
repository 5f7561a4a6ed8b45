// Which URLs the service may fetch for the catalogue: http(s) only, only the catalogue's origin and the image origins
// it was given, and never a link-local, metadata or unspecified address, whatever a host name or the list says.
import { lookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";

/** Every address a host name resolves to. */
export type ResolveHost = (hostname: string) => Promise<string[]>;

export const resolveWithSystem: ResolveHost = async (hostname) =>
  (await lookup(hostname, { all: true, verbatim: true })).map((entry) => entry.address);

const NEVER_FETCHED = new BlockList();
// Link-local: where clouds answer instance metadata (169.254.169.254) with credentials in it.
NEVER_FETCHED.addSubnet("169.254.0.0", 16, "ipv4");
// "This network": connecting to 0.0.0.0 reaches the host itself, whatever it listens on.
NEVER_FETCHED.addSubnet("0.0.0.0", 8, "ipv4");
// Alibaba Cloud's metadata service.
NEVER_FETCHED.addAddress("100.100.100.200", "ipv4");
NEVER_FETCHED.addSubnet("fe80::", 10, "ipv6");
// AWS's metadata service over IPv6.
NEVER_FETCHED.addAddress("fd00:ec2::254", "ipv6");
NEVER_FETCHED.addAddress("::", "ipv6");
// The same IPv4 ranges through NAT64's well-known prefix (IPv4-mapped ::ffff:a.b.c.d is matched by BlockList itself).
NEVER_FETCHED.addSubnet("64:ff9b::a9fe:0", 112, "ipv6");
NEVER_FETCHED.addSubnet("64:ff9b::", 104, "ipv6");
NEVER_FETCHED.addAddress("64:ff9b::6464:64c8", "ipv6");

const NEVER_FETCHED_WHAT = "a link-local, metadata or unspecified address";

/** True for an IP address the service never connects to; false for anything else, host names included. */
export function isNeverFetched(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return NEVER_FETCHED.check(address, family === 4 ? "ipv4" : "ipv6");
}

export type OutboundDecision =
  | { allowed: true; url: URL; /** Checked, in the resolver's order: connect to these. */ addresses: string[] }
  | { allowed: false; /** Why, without the URL's path or query (they may carry signatures). */ reason: string };

export interface OutboundPolicyOptions {
  /** Origins (`scheme://host[:port]`) requests may go to: the catalogue's and CATALOG_IMAGE_ORIGINS. */
  allowedOrigins: readonly string[];
  resolveHost?: ResolveHost;
}

export class OutboundPolicy {
  readonly #allowedOrigins: ReadonlySet<string>;
  readonly #resolveHost: ResolveHost;

  constructor(options: OutboundPolicyOptions) {
    this.#allowedOrigins = new Set(options.allowedOrigins.map((origin) => new URL(origin).origin));
    this.#resolveHost = options.resolveHost ?? resolveWithSystem;
  }

  /**
   * Decides on one URL, looking up its host name when it is not an address. A failed lookup rejects, as a failed
   * connection would. Only the addresses returned are checked: connect to them (see pinnedUrl), not to the name.
   */
  async check(url: URL): Promise<OutboundDecision> {
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      return { allowed: false, reason: `${url.protocol} URLs are never fetched, only http and https` };
    }
    if (!this.#allowedOrigins.has(url.origin)) {
      return { allowed: false, reason: `${url.origin} is neither the catalogue's origin nor in CATALOG_IMAGE_ORIGINS` };
    }
    const host = hostOf(url);
    if (isIP(host)) {
      if (isNeverFetched(host)) return { allowed: false, reason: `${host} is ${NEVER_FETCHED_WHAT}` };
      return { allowed: true, url, addresses: [host] };
    }
    const addresses = await this.#resolveHost(host);
    const blocked = addresses.find(isNeverFetched);
    if (blocked) return { allowed: false, reason: `its host name resolves to ${blocked}, ${NEVER_FETCHED_WHAT}` };
    if (addresses.length === 0) {
      throw Object.assign(new Error("the host name resolves to no address"), { code: "ENOTFOUND" });
    }
    return { allowed: true, url, addresses };
  }
}

/** The URL's host as an address or a name: IPv6 literals lose their brackets. */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, "$1");
}

/** The URL with its host name replaced by the checked address; send the original host in the Host header. */
export function pinnedUrl(url: URL, address: string): string {
  const pinned = new URL(url);
  pinned.hostname = isIP(address) === 6 ? `[${address}]` : address;
  return pinned.href;
}
