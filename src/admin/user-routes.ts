import { randomUUID } from 'node:crypto';
import { addressKey, PLATFORMS, type Address, type Platform } from '../core/address.ts';
import type { DirectoryUser } from '../core/directory.ts';
import type { Envelope } from '../core/envelope.ts';
import { route, type AnyRoute } from './api.ts';
import { audit } from './auth-routes.ts';
import type { AdminContext } from './context.ts';
import { actor, ADMIN } from './federation-routes.ts';
import { ApiError } from './http.ts';
import {
  contactListSchema,
  contactRevokedSchema,
  contactRevokeSchema,
  userFederationSchema,
  userIdQuerySchema,
  userListSchema,
  userQuerySchema,
  userSchema,
  type AdminUser,
  type Contact,
} from './schemas.ts';

/** The persisted part of the user session actor's state we read (actors/user-session.ts). */
interface StoredUserState {
  contacts?: Record<string, { state: Contact['state']; since: number; askedBy?: 'out' | 'in' }>;
}

function domainOf(id: string): string {
  const at = id.lastIndexOf('@');
  return (at >= 0 ? id.slice(at + 1) : id).split(/[;:/]/)[0]?.toLowerCase() ?? '';
}

/** `xmpp:bob@partner.example` -> platform and id. */
function splitKey(key: string): { platform: Platform; id: string } | undefined {
  const colon = key.indexOf(':');
  const platform = key.slice(0, colon) as Platform;
  if (colon < 0 || !PLATFORMS.includes(platform)) return undefined;
  return { platform, id: key.slice(colon + 1) };
}

const ASKED = { 'pending-out': 'user', 'pending-in': 'contact', accepted: 'unknown' } as const;

export function userRoutes(ctx: AdminContext): AnyRoute[] {
  const disabledSet = async (): Promise<Set<string>> => new Set((await ctx.policy.load())?.disabledUsers ?? []);
  const view = (u: DirectoryUser, disabled: Set<string>): AdminUser => ({
    ...u,
    federationEnabled: !disabled.has(addressKey(u)),
  });
  const findUser = async (id: string): Promise<DirectoryUser> => {
    const u = await ctx.directory.get(id);
    if (!u) throw new ApiError(404, 'NOT_FOUND', `no user ${id}`);
    return u;
  };
  const contactsOf = async (u: Pick<DirectoryUser, 'platform' | 'id'>): Promise<Contact[]> => {
    const [state] = (await ctx.snapshots.loadMany([`user:${addressKey(u)}`])) as Array<StoredUserState | undefined>;
    const out: Contact[] = [];
    for (const [key, c] of Object.entries(state?.contacts ?? {})) {
      const peer = splitKey(key);
      if (!peer) continue;
      out.push({ address: peer.id, platform: peer.platform, domain: domainOf(peer.id), state: c.state, since: c.since, askedFirst: c.askedBy === 'out' ? 'user' : c.askedBy === 'in' ? 'contact' : ASKED[c.state] });
    }
    return out.sort((a, b) => a.address.localeCompare(b.address));
  };

  return [
    route({
      method: 'GET', path: '/users', tag: 'users', summary: 'Teams users Parley knows: search (?q=) and paging', access: ADMIN,
      query: userQuerySchema, response: userListSchema,
      handler: async ({ query }) => {
        const page = await ctx.directory.list({ offset: query.offset, limit: query.limit, ...(query.q ? { query: query.q } : {}) });
        const disabled = await disabledSet();
        return { body: { total: page.total, offset: query.offset, limit: query.limit, users: page.users.map((u) => view(u, disabled)) } };
      },
    }),
    route({
      method: 'PUT', path: '/users/federation', tag: 'users', summary: 'Turn federation on or off for one user (?id=)', access: ADMIN,
      query: userIdQuerySchema, body: userFederationSchema, response: userSchema,
      handler: async ({ query, body, principal }) => {
        const u = await findUser(query.id);
        const key = addressKey(u);
        let was = true;
        const after = await ctx.policy.update((cur) => {
          was = !cur.disabledUsers.includes(key);
          const rest = cur.disabledUsers.filter((k) => k !== key);
          return { ...cur, disabledUsers: body.enabled ? rest : [...rest, key] };
        });
        await audit(ctx, actor(principal), 'user.federation', u.id, { enabled: was }, { enabled: body.enabled });
        return { body: view(u, new Set(after.disabledUsers)) };
      },
    }),
    route({
      method: 'GET', path: '/users/contacts', tag: 'users', summary: 'One user\'s external contacts (?id=)', access: ADMIN,
      query: userIdQuerySchema, response: contactListSchema,
      handler: async ({ query }) => ({ body: { user: query.id, contacts: await contactsOf(await findUser(query.id)) } }),
    }),
    route({
      method: 'POST', path: '/users/contacts/revoke', tag: 'users',
      summary: 'End a contact relationship: the external side is unsubscribed and the user is told', access: ADMIN,
      body: contactRevokeSchema, response: contactRevokedSchema,
      handler: async ({ body, principal }) => {
        const u = await findUser(body.user);
        const contact = (await contactsOf(u)).find((c) => c.platform === body.platform && c.address === body.address);
        if (!contact) throw new ApiError(404, 'NOT_FOUND', `${body.user} has no contact ${body.platform}:${body.address}`);
        const self: Address = { platform: u.platform, id: u.id, domain: u.domain, ...(u.tenant ? { tenant: u.tenant } : {}) };
        const peer: Address = { platform: contact.platform, id: contact.address, domain: contact.domain };
        const now = Date.now();
        const removal: Envelope = { type: 'contact-response', id: `admin-revoke-${randomUUID()}`, ts: now, from: self, to: peer, decision: 'removed' };
        const ack = await ctx.hub.ingestAsParley(removal);
        if (ack.outcome === 'rejected') throw new ApiError(503, ack.error?.code ?? 'REJECTED', ack.error?.message ?? 'the hub refused the change; try again');
        const notice: Envelope = {
          type: 'error', id: `admin-revoke-notice-${randomUUID()}`, ts: now, from: peer, to: self, target: removal.id,
          code: 'CONTACT_REVOKED', message: `Your administrator removed ${contact.address} from your contacts.`, retryable: false,
        };
        const told = await ctx.hub.ingestAsParley(notice);
        if (told.outcome !== 'accepted' && told.outcome !== 'duplicate') ctx.log.warn({ user: u.id, outcome: told.outcome }, 'revoked contact: the user could not be told');
        await audit(ctx, actor(principal), 'contact.revoke', `${u.id} -> ${contact.platform}:${contact.address}`, contact, { outcome: ack.outcome });
        return { body: { revoked: true as const, outcome: ack.outcome } };
      },
    }),
  ];
}
