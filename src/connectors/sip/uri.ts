import type { Address } from '../../core/address.ts';

/** SIP URIs <-> Parley addresses. External users are `{platform:'sip', id:'bob@partner.example'}`. */
const USER_RE = /^[A-Za-z0-9\-_.!~*'()&=+$,;?/%]{1,128}$/;
const DOMAIN_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** user and host of a SIP URI (sip.js URI or its parts), lower-cased host; undefined if unusable. */
export function aor(user: string | undefined, host: string | undefined): { user: string; domain: string } | undefined {
  if (!user || !host) return undefined;
  const domain = host.toLowerCase();
  if (!USER_RE.test(user) || domain.length > 253 || !DOMAIN_RE.test(domain)) return undefined;
  return { user, domain };
}

export function addressFromAor(a: { user: string; domain: string }, localDomains: ReadonlySet<string>, name?: string): Address {
  const platform = localDomains.has(a.domain) ? 'teams' : 'sip';
  const addr: Address = { platform, id: `${a.user}@${a.domain}`, domain: a.domain };
  if (name) addr.name = name.slice(0, 256);
  return addr;
}

/** sip:user@domain for an address whose id is user@domain (both internal and external users). */
export function sipUriOf(a: Pick<Address, 'id' | 'domain'>): string | undefined {
  const id = a.id.replace(/^sips?:/i, '');
  const at = id.lastIndexOf('@');
  const user = at > 0 ? id.slice(0, at) : '';
  const host = at > 0 ? id.slice(at + 1) : '';
  return aor(user, host) ? `sip:${user}@${host.toLowerCase()}` : undefined;
}
