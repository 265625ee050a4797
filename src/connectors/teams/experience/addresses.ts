import type { Address, Platform } from '../../../core/address.ts';

/**
 * Addresses as Teams users type them, and the Parley ids of Teams users.
 *
 * - `xmpp:bob@example.org` and `sip:bob@example.org` name the platform.
 * - A bare `bob@example.org` takes the platform configured for its domain
 *   (the most specific rule: the domain, then each parent), XMPP otherwise.
 * - Addresses in one of the organisation's own domains are Teams users.
 */
export interface AddressRules {
  /** The organisation's federated domains (Teams users live there). */
  localDomains: ReadonlySet<string>;
  /** Platform per external domain (`partner.example` -> `sip`). */
  domainPlatforms: ReadonlyMap<string, 'xmpp' | 'sip'>;
}

export type ParsedAddress = { ok: true; address: Address } | { ok: false; reason: string };

const DOMAIN_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$/;
/** RFC 7622 forbids these in a local part. */
const JID_LOCAL_FORBIDDEN = /["&'/:<>@\s]/;
const SIP_USER = /^[A-Za-z0-9\-_.!~*'()&=+$,;?/%]{1,128}$/;

function platformFor(domain: string, rules: AddressRules): 'xmpp' | 'sip' {
  for (let d = domain; d; ) {
    const p = rules.domainPlatforms.get(d);
    if (p) return p;
    const dot = d.indexOf('.');
    d = dot < 0 ? '' : d.slice(dot + 1);
  }
  return 'xmpp';
}

/** What a user typed after `add`, `profile`, `chat`, `invite` (angle brackets and mailto: links tolerated). */
export function parseAddress(input: string, rules: AddressRules): ParsedAddress {
  let s = input.trim().replace(/^<(.*)>$/, '$1').trim();
  if (s.length === 0) return { ok: false, reason: 'no address given' };
  if (s.length > 512) return { ok: false, reason: 'that address is too long' };
  let platform: Platform | undefined;
  const scheme = /^(xmpp|sips?|mailto):/i.exec(s);
  if (scheme) {
    const name = (scheme[1] ?? '').toLowerCase();
    platform = name === 'xmpp' ? 'xmpp' : name === 'mailto' ? undefined : 'sip';
    s = s.slice(scheme[0].length).replace(/^\/\//, '');
  }
  // A JID resource or SIP URI parameters are not part of whom to add.
  s = s.replace(/[/;?].*$/, '');
  const at = s.lastIndexOf('@');
  if (at <= 0 || at === s.length - 1) return { ok: false, reason: `"${clip(input)}" is not an address: write user@domain (or xmpp:user@domain, sip:user@domain)` };
  const rawLocal = s.slice(0, at);
  const domain = s.slice(at + 1).toLowerCase().replace(/\.$/, '');
  if (domain.length > 253 || !DOMAIN_RE.test(domain)) return { ok: false, reason: `"${clip(domain)}" is not a valid domain name` };
  if (rules.localDomains.has(domain)) {
    return { ok: false, reason: `${clip(s)} is in your own organisation: talk to them in Teams directly` };
  }
  platform ??= platformFor(domain, rules);
  if (platform === 'xmpp') {
    const local = rawLocal.toLowerCase();
    if (local.length > 1023 || JID_LOCAL_FORBIDDEN.test(local)) return { ok: false, reason: `"${clip(rawLocal)}" is not a valid XMPP user name` };
    return { ok: true, address: { platform, id: `${local}@${domain}`, domain } };
  }
  if (!SIP_USER.test(rawLocal)) return { ok: false, reason: `"${clip(rawLocal)}" is not a valid SIP user name` };
  return { ok: true, address: { platform: 'sip', id: `${rawLocal}@${domain}`, domain } };
}

function clip(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/** How an address is written back to Teams users: with its scheme when the domain alone would not say it. */
export function displayAddress(a: Pick<Address, 'platform' | 'id'>): string {
  return a.platform === 'sip' ? `sip:${a.id}` : a.id;
}

const MAX_LOCAL = 64;

/**
 * A local part valid both as a JID local part and a SIP user part: lower-case
 * letters, digits, `.`, `-`, `_`; accents folded; everything else becomes `.`.
 */
export function sanitiseLocal(raw: string): string {
  const folded = raw.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
  const s = folded
    .replace(/[^a-z0-9._-]+/g, '.')
    .replace(/\.{2,}/g, '.')
    .replace(/^[.\-_]+|[.\-_]+$/g, '')
    .slice(0, MAX_LOCAL)
    .replace(/[.\-_]+$/, '');
  return s;
}

/** The preferred local part for a Teams user: UPN, then email, then name, then an id. */
export function preferredLocal(m: { userPrincipalName?: string; email?: string; name?: string; aadObjectId?: string; id: string }): string {
  const localOf = (v: string | undefined) => (v && v.includes('@') ? v.slice(0, v.lastIndexOf('@')) : undefined);
  for (const candidate of [localOf(m.userPrincipalName), localOf(m.email), m.name]) {
    const s = candidate ? sanitiseLocal(candidate) : '';
    if (s) return s;
  }
  const id = sanitiseLocal((m.aadObjectId ?? m.id).replace(/^\d+:/, '')).slice(0, 12);
  return `user.${id || 'unknown'}`;
}
