import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import xml, { type Element } from '@xmpp/xml';
import type { Platform } from '../../core/address.ts';
import type { Envelope } from '../../core/envelope.ts';
import { addressOf, envelopeId, parseJid, type ParsedJid } from './addressing.ts';
import { NS } from './ns.ts';
import { errorReply } from './stanza-errors.ts';
import { parseStyling } from './styling.ts';

/**
 * The room service (an XEP-0045 subset) on a component domain of its own:
 * each Teams channel or group chat that someone bridges becomes a hidden,
 * members-only, non-anonymous room `<hash of the chat id>@<rooms domain>`.
 * Teams users invite external users (XEP-0249 direct invitations make them
 * members); members join, leave, see each other, talk and set the subject.
 * Teams participants appear under their display names as the senders of
 * their messages. State lives in Redis, so a restart keeps rooms and members.
 */
export interface RoomsOptions {
  domain: string;
  /** The organisation's users' platform: the Teams side of a room's messages. */
  localPlatform: Platform;
  name: string;
  redis: Redis;
  keyPrefix: string;
  send(fragment: string): Promise<void>;
  submit(stanza: Element, envs: Envelope[]): void;
}

const MAX_NICK = 64;
const MAX_SUBJECT = 1024;

export class Rooms {
  constructor(private readonly o: RoomsOptions) {}

  private key(room: string, part: string): string {
    return `${this.o.keyPrefix}:xmpp:room:${room}:${part}`;
  }

  /** The room's local part for a Teams chat id. */
  static localFor(chatId: string): string {
    return `t${createHash('sha256').update(chatId).digest('hex').slice(0, 24)}`;
  }

  roomJid(chatId: string): string {
    return `${Rooms.localFor(chatId)}@${this.o.domain}`;
  }

  /** Makes the room (if new) and the invitee a member; returns the room's JID. */
  async admit(chatId: string, name: string | undefined, member: string): Promise<string> {
    const room = Rooms.localFor(chatId);
    const p = this.o.redis.multi();
    p.hsetnx(this.key(room, 'meta'), 'chatId', chatId);
    if (name) p.hset(this.key(room, 'meta'), 'name', name.slice(0, 256));
    p.sadd(this.key(room, 'members'), member);
    await p.exec();
    return `${room}@${this.o.domain}`;
  }

  private async occupants(room: string): Promise<Map<string, string>> {
    const all = await this.o.redis.hgetall(this.key(room, 'occupants'));
    return new Map(Object.entries(all));
  }

  /**
   * Delivers Teams messages to every occupant of their rooms, as
   * `room/<sender's name>`: one occupant lookup per room, one write.
   */
  async deliver(items: ReadonlyArray<{ env: Envelope; stanzas: readonly Element[] }>): Promise<void> {
    const occupants = new Map<string, Map<string, string>>();
    let fragment = '';
    for (const { env, stanzas } of items) {
      const room = Rooms.localFor(env.to.id);
      let inRoom = occupants.get(room);
      if (!inRoom) occupants.set(room, (inRoom = await this.occupants(room)));
      const nick = (env.from.name ?? env.from.id.split('@')[0] ?? 'Teams').slice(0, MAX_NICK);
      const from = `${room}@${this.o.domain}/${nick}`;
      for (const jid of inRoom.values()) {
        for (const el of stanzas) {
          el.attrs.from = from;
          el.attrs.to = jid;
          if (el.name === 'message' && el.attrs.type !== 'error') el.attrs.type = 'groupchat';
          fragment += el.toString();
        }
      }
    }
    if (fragment) await this.o.send(fragment);
  }

  onStanza(el: Element, now: number): void {
    this.handle(el, now).catch(() => {
      if (el.attrs.type !== 'error') void this.o.send(errorReply(el, 'internal-server-error', 'wait').toString()).catch(() => undefined);
    });
  }

  private async handle(el: Element, now: number): Promise<void> {
    const from = parseJid(el.attrs.from);
    const to = parseJid(el.attrs.to);
    if (!from || !to || el.attrs.type === 'error') return;
    if (el.name === 'iq') return this.iq(el, to);
    if (!to.local) return this.reply(errorReply(el, 'service-unavailable', 'cancel'));
    const room = to.local;
    const meta = await this.o.redis.hgetall(this.key(room, 'meta'));
    if (!meta.chatId) return this.reply(errorReply(el, 'item-not-found', 'cancel', 'no such room'));
    if (el.name === 'presence') return this.presence(el, room, from, to, meta);
    if (el.name === 'message') return this.message(el, room, from, meta.chatId, now);
  }

  private reply(el: Element): Promise<void> {
    return this.o.send(el.toString());
  }

  private item(jid: string, role = 'participant'): Element {
    return xml('x', { xmlns: NS.mucUser }, xml('item', { affiliation: 'member', role, jid }));
  }

  private async presence(el: Element, room: string, from: ParsedJid, to: ParsedJid, meta: Record<string, string>): Promise<void> {
    const full = el.attrs.from ?? '';
    const roomJid = `${room}@${this.o.domain}`;
    const occupants = await this.occupants(room);
    const current = [...occupants].find(([, jid]) => jid === full)?.[0];
    if (el.attrs.type === 'unavailable') {
      if (!current) return;
      await this.o.redis.hdel(this.key(room, 'occupants'), current);
      let fragment = '';
      for (const jid of occupants.values()) {
        const status = jid === full ? [xml('status', { code: '110' })] : [];
        const x = xml('x', { xmlns: NS.mucUser }, xml('item', { affiliation: 'member', role: 'none', jid: full }), ...status);
        fragment += xml('presence', { from: `${roomJid}/${current}`, to: jid, type: 'unavailable' }, x).toString();
      }
      return this.o.send(fragment);
    }
    if (el.attrs.type) return;
    const nick = to.resource.slice(0, MAX_NICK);
    if (!nick) return this.reply(errorReply(el, 'jid-malformed', 'modify', 'a nickname is required'));
    if (!(await this.o.redis.sismember(this.key(room, 'members'), from.bare))) {
      return this.reply(errorReply(el, 'registration-required', 'auth', 'members only: ask a member of the Teams chat to invite you'));
    }
    const holder = occupants.get(nick);
    if (holder && holder !== full) return this.reply(errorReply(el, 'conflict', 'cancel', 'that nickname is in use'));
    if (current && current !== nick) await this.o.redis.hdel(this.key(room, 'occupants'), current);
    await this.o.redis.hset(this.key(room, 'occupants'), nick, full);
    let fragment = '';
    // Existing occupants to the newcomer, then the newcomer to everyone, self-presence last (110), then the subject.
    for (const [n, jid] of occupants) if (n !== nick && n !== current) fragment += xml('presence', { from: `${roomJid}/${n}`, to: full }, this.item(jid)).toString();
    for (const [n, jid] of occupants) if (n !== nick && n !== current) fragment += xml('presence', { from: `${roomJid}/${nick}`, to: jid }, this.item(full)).toString();
    fragment += xml('presence', { from: `${roomJid}/${nick}`, to: full }, xml('x', { xmlns: NS.mucUser }, xml('item', { affiliation: 'member', role: 'participant', jid: full }), xml('status', { code: '100' }), xml('status', { code: '110' }))).toString();
    if (!current) fragment += xml('message', { from: roomJid, to: full, type: 'groupchat', id: `subject-${room}` }, xml('subject', {}, meta.subject ?? meta.name ?? '')).toString();
    await this.o.send(fragment);
  }

  private async message(el: Element, room: string, from: ParsedJid, chatId: string, now: number): Promise<void> {
    const full = el.attrs.from ?? '';
    const occupants = await this.occupants(room);
    const nick = [...occupants].find(([, jid]) => jid === full)?.[0];
    if (el.attrs.type !== 'groupchat') return this.reply(errorReply(el, 'feature-not-implemented', 'cancel', 'private messages in rooms are not supported'));
    if (!nick) return this.reply(errorReply(el, 'not-acceptable', 'cancel', 'join the room first'));
    const roomJid = `${room}@${this.o.domain}`;
    const subject = el.getChildText('subject');
    const body = el.getChildText('body');
    if (subject !== null && body === null) {
      await this.o.redis.hset(this.key(room, 'meta'), 'subject', subject.slice(0, MAX_SUBJECT));
    }
    // Reflect to every occupant, the sender included (XEP-0045 7.4).
    let fragment = '';
    for (const jid of occupants.values()) {
      const copy = xml('message', { from: `${roomJid}/${nick}`, to: jid, type: 'groupchat', ...(el.attrs.id ? { id: el.attrs.id } : {}) }, ...el.getChildElements());
      fragment += copy.toString();
    }
    await this.o.send(fragment);
    if (body === null || body.trim() === '') return;
    this.o.submit(el, [
      {
        type: 'im',
        id: envelopeId(from.bare, el.attrs.id),
        ts: now,
        chatId,
        from: { ...addressOf(from, { domain: this.o.domain, localPlatform: this.o.localPlatform }), name: nick },
        to: { platform: this.o.localPlatform, id: chatId, domain: this.o.domain },
        body: parseStyling(body),
      },
    ]);
  }

  private async iq(el: Element, to: ParsedJid): Promise<void> {
    const child = el.getChildElements()[0];
    if (el.attrs.type !== 'get' || !child) return this.reply(errorReply(el, 'service-unavailable', 'cancel'));
    const result = (...c: Element[]): Promise<void> => this.reply(xml('iq', { type: 'result', id: el.attrs.id ?? '', from: el.attrs.to ?? '', to: el.attrs.from ?? '' }, ...c));
    if (child.is('query', NS.discoInfo)) {
      if (!to.local) return result(xml('query', { xmlns: NS.discoInfo }, xml('identity', { category: 'conference', type: 'text', name: `${this.o.name} rooms` }), xml('feature', { var: NS.muc }), xml('feature', { var: NS.discoInfo })));
      const meta = await this.o.redis.hgetall(this.key(to.local, 'meta'));
      if (!meta.chatId) return this.reply(errorReply(el, 'item-not-found', 'cancel'));
      const features = [NS.muc, 'muc_membersonly', 'muc_nonanonymous', 'muc_persistent', 'muc_hidden', NS.discoInfo];
      return result(xml('query', { xmlns: NS.discoInfo }, xml('identity', { category: 'conference', type: 'text', name: meta.name ?? to.local }), ...features.map((f) => xml('feature', { var: f }))));
    }
    if (child.is('query', NS.discoItems)) return result(xml('query', { xmlns: NS.discoItems }));
    if (child.is('ping', NS.ping)) return result();
    return this.reply(errorReply(el, 'service-unavailable', 'cancel'));
  }
}
