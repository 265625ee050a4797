import { parseArgs } from 'node:util';
import { loadConfig } from '../config/load.ts';
import { API_PREFIX, type AuditEntry, type Contact, type Federation } from '../admin/schemas.ts';

const USAGE = `usage: parley admin <area> <action> [options]   (talks to a running Parley's admin API)

  domains list
  domains add <domain> [--block] [--platforms xmpp,sip] [--kind partner|internal] [--label TEXT]
  domains allow|block <domain>        change the rule (created if missing)
  domains remove <domain>
  users list [--search TEXT] [--offset N] [--limit N]
  users enable|disable <user-id>      per-user federation
  contacts list <user-id>
  contacts revoke <user-id> <platform>:<address>
  audit [--actor NAME] [--action NAME] [--limit N]

options: --url URL (PARLEY_ADMIN_URL, default http://127.0.0.1:<admin.port>)
         --token TOKEN (PARLEY_ADMIN_TOKEN: an API token with scope read, and write for changes)
         --json  print the API's JSON answer`;

export interface CliIo {
  env?: Readonly<Record<string, string | undefined>>;
  out?: (line: string) => void;
  err?: (line: string) => void;
}

class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

interface Client {
  request<T>(method: string, path: string, body?: unknown): Promise<T>;
}

function client(url: string, token: string): Client {
  return {
    async request<T>(method: string, path: string, body?: unknown): Promise<T> {
      const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
      if (body !== undefined) headers['content-type'] = 'application/json';
      let res: Response;
      try {
        res = await fetch(`${url}${API_PREFIX}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}), signal: AbortSignal.timeout(30_000) });
      } catch (e) {
        throw new CliError(`cannot reach the admin API at ${url}: ${(e as Error).message}`, 1);
      }
      const text = await res.text();
      if (!res.ok) {
        let msg = text.slice(0, 500);
        try {
          const parsed = JSON.parse(text) as { error?: { code?: string; message?: string; issues?: string[] } };
          if (parsed.error) msg = `${parsed.error.code}: ${parsed.error.message}${parsed.error.issues ? ` (${parsed.error.issues.join('; ')})` : ''}`;
        } catch {
          // not JSON: keep the text
        }
        throw new CliError(`${method} ${path}: HTTP ${res.status} ${msg}`, 1);
      }
      return JSON.parse(text) as T;
    },
  };
}

const q = (v: string): string => encodeURIComponent(v);

function table(rows: ReadonlyArray<ReadonlyArray<string>>): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd());
}

/** `parley admin ...`; returns the exit code (0 ok, 1 failed, 2 usage). */
export async function adminCommand(argv: readonly string[], io: CliIo = {}): Promise<number> {
  const out = io.out ?? ((l: string) => console.log(l));
  const err = io.err ?? ((l: string) => console.error(l));
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        url: { type: 'string' }, token: { type: 'string' }, json: { type: 'boolean' },
        block: { type: 'boolean' }, platforms: { type: 'string' }, kind: { type: 'string' }, label: { type: 'string' },
        search: { type: 'string' }, offset: { type: 'string' }, limit: { type: 'string' },
        actor: { type: 'string' }, action: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    err(`parley admin: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const { values: o, positionals: [area, action, ...args] } = parsed;
  if (o.help || !area || area === 'help') {
    out(USAGE);
    return area || o.help ? 0 : 2;
  }
  const config = loadConfig(io.env ?? process.env);
  const url = (o.url ?? config.admin.client.url ?? `http://127.0.0.1:${config.admin.port}`).replace(/\/+$/, '');
  const token = o.token ?? config.admin.client.token;
  if (!token) {
    err('parley admin: an API token is required (--token or PARLEY_ADMIN_TOKEN); create one in the portal or POST /admin/api/v1/tokens');
    return 2;
  }
  const api = client(url, token);
  const show = (value: unknown, lines: () => string[]): void => {
    if (o.json) out(JSON.stringify(value, null, 2));
    else for (const l of lines()) out(l);
  };
  const need = (n: number, what: string): void => {
    if (args.length < n) throw new CliError(`parley admin ${area} ${action}: ${what} required\n${USAGE}`, 2);
  };
  try {
    switch (`${area} ${action ?? ''}`.trim()) {
      case 'domains list': {
        const r = await api.request<{ defaultAction: string; domains: Federation[] }>('GET', '/federations');
        show(r, () => [
          `default: ${r.defaultAction}`,
          ...table([['DOMAIN', 'ACTION', 'KIND', 'PLATFORMS', 'LABEL'], ...r.domains.map((d) => [d.domain, d.action, d.kind, d.platforms?.join(',') ?? 'all', d.label ?? ''])]),
        ]);
        return 0;
      }
      case 'domains add': {
        need(1, '<domain>');
        const body = {
          domain: args[0], action: o.block ? 'block' : 'allow', kind: o.kind ?? 'partner',
          ...(o.platforms ? { platforms: o.platforms.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
          ...(o.label !== undefined ? { label: o.label } : {}),
        };
        const r = await api.request<Federation>('POST', '/federations', body);
        show(r, () => [`added ${r.domain} (${r.action})`]);
        return 0;
      }
      case 'domains allow':
      case 'domains block': {
        need(1, '<domain>');
        const domain = (args[0] as string).toLowerCase();
        const existing = (await api.request<{ domains: Federation[] }>('GET', '/federations')).domains.some((d) => d.domain === domain);
        const r = existing
          ? await api.request<Federation>('PUT', `/federations?domain=${q(domain)}`, { action })
          : await api.request<Federation>('POST', '/federations', { domain, action, kind: o.kind ?? 'partner' });
        show(r, () => [`${r.domain}: ${r.action}`]);
        return 0;
      }
      case 'domains remove': {
        need(1, '<domain>');
        const r = await api.request('DELETE', `/federations?domain=${q((args[0] as string).toLowerCase())}`);
        show(r, () => [`removed ${args[0]}`]);
        return 0;
      }
      case 'users list': {
        const params = new URLSearchParams();
        if (o.search) params.set('q', o.search);
        if (o.offset) params.set('offset', o.offset);
        if (o.limit) params.set('limit', o.limit);
        const r = await api.request<{ total: number; users: Array<{ id: string; name?: string; email?: string; federationEnabled: boolean }> }>('GET', `/users?${params}`);
        show(r, () => [
          ...table([['ID', 'NAME', 'EMAIL', 'FEDERATION'], ...r.users.map((u) => [u.id, u.name ?? '', u.email ?? '', u.federationEnabled ? 'on' : 'off'])]),
          `${r.users.length} of ${r.total}`,
        ]);
        return 0;
      }
      case 'users enable':
      case 'users disable': {
        need(1, '<user-id>');
        const r = await api.request<{ id: string; federationEnabled: boolean }>('PUT', `/users/federation?id=${q(args[0] as string)}`, { enabled: action === 'enable' });
        show(r, () => [`${r.id}: federation ${r.federationEnabled ? 'on' : 'off'}`]);
        return 0;
      }
      case 'contacts list': {
        need(1, '<user-id>');
        const r = await api.request<{ contacts: Contact[] }>('GET', `/users/contacts?id=${q(args[0] as string)}`);
        show(r, () => table([['CONTACT', 'STATE', 'ASKED FIRST', 'SINCE'], ...r.contacts.map((c) => [`${c.platform}:${c.address}`, c.state, c.askedFirst, new Date(c.since).toISOString()])]));
        return 0;
      }
      case 'contacts revoke': {
        need(2, '<user-id> <platform>:<address>');
        const m = /^([a-z]+):(.+)$/.exec(args[1] as string);
        if (!m) throw new CliError('parley admin contacts revoke: contact must be <platform>:<address>, e.g. xmpp:bob@partner.example', 2);
        const r = await api.request('POST', '/users/contacts/revoke', { user: args[0], platform: m[1], address: m[2] });
        show(r, () => [`revoked ${args[1]} for ${args[0]}`]);
        return 0;
      }
      case 'audit':
      case 'audit list': {
        const params = new URLSearchParams();
        if (o.actor) params.set('actor', o.actor);
        if (o.action) params.set('action', o.action);
        params.set('limit', o.limit ?? '50');
        const r = await api.request<{ total: number; entries: AuditEntry[] }>('GET', `/audit?${params}`);
        show(r, () => [
          ...table([['WHEN', 'ACTOR', 'ACTION', 'TARGET'], ...r.entries.map((e) => [new Date(e.at).toISOString(), e.actor, e.action, e.target])]),
          `${r.entries.length} of ${r.total}`,
        ]);
        return 0;
      }
      default:
        err(`parley admin: unknown command "${[area, action].filter(Boolean).join(' ')}"\n${USAGE}`);
        return 2;
    }
  } catch (e) {
    if (e instanceof CliError) {
      err(`parley admin: ${e.message}`);
      return e.exitCode;
    }
    throw e;
  }
}
