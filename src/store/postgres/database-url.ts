// A PostgreSQL URL as the `postgres` client reads it: one host, or several (`host1:5432,host2:5432`, tried in turn,
// e.g. standbys with ?target_session_attrs=prefer-standby), which a WHATWG URL parser alone refuses.

/** The scheme and user part, then the host list. */
const HOSTS = /^([a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?)([^/?#]*)/i;

/** The URL with only the first of its hosts, so that a URL parser reads the rest. */
export function withFirstHost(url: string): string {
  return url.replace(HOSTS, (_, start: string, hosts: string) => start + hosts.split(",")[0]);
}

/** `host:port` or `host1:port,host2:port`, as written in the URL. */
export function hostsOf(url: string): string {
  return HOSTS.exec(url)?.[2] ?? "";
}
