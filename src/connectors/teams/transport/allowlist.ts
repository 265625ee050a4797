const LOOPBACK = new Set(['127.0.0.1', '::1', '[::1]', 'localhost']);

export type ServiceUrlVerdict = { ok: true; url: URL } | { ok: false; reason: string };

/**
 * Which serviceUrls may receive the bot's token. Entries are hosts (optionally
 * with a port), `*.` matching any subdomain. Only https, except loopback in
 * development mode; loopback otherwise only when listed explicitly.
 */
export class ServiceUrlAllowlist {
  private readonly exact = new Set<string>();
  private readonly suffixes: string[] = [];

  constructor(
    hosts: readonly string[],
    private readonly developmentMode: boolean,
  ) {
    for (const h of hosts.map((x) => x.toLowerCase())) {
      if (h.startsWith('*.')) this.suffixes.push(h.slice(1));
      else this.exact.add(h);
    }
  }

  check(serviceUrl: string | undefined): ServiceUrlVerdict {
    if (!serviceUrl) return { ok: false, reason: 'activity has no serviceUrl' };
    let url: URL;
    try {
      url = new URL(serviceUrl);
    } catch {
      return { ok: false, reason: 'serviceUrl is not a URL' };
    }
    const host = url.hostname.toLowerCase();
    const hostPort = url.port ? `${host}:${url.port}` : host;
    const loopback = LOOPBACK.has(host);
    if (url.username || url.password) return { ok: false, reason: 'serviceUrl carries credentials' };
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback && this.developmentMode)) {
      return { ok: false, reason: `serviceUrl scheme ${url.protocol} is not allowed` };
    }
    if (loopback && this.developmentMode) return { ok: true, url };
    const listed = this.exact.has(hostPort) || this.exact.has(host) || this.suffixes.some((s) => host.endsWith(s) && host.length > s.length);
    return listed ? { ok: true, url } : { ok: false, reason: `serviceUrl host ${hostPort} is not on connectors.teams.serviceUrlHosts` };
  }
}
