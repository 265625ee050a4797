import { describe, expect, it } from 'vitest';
import { parseAddress, preferredLocal, sanitiseLocal, type AddressRules } from '../../src/connectors/teams/experience/addresses.ts';
import { ADAPTIVE_CARD, contactDecisionSchema, contactRequestCard, contactsCard, MAX_CONTACTS_SHOWN, mdEscape, profileCard } from '../../src/connectors/teams/experience/cards.ts';
import { dropLeadingChars, parseCommand } from '../../src/connectors/teams/experience/commands.ts';
import { reactionEmoji } from '../../src/connectors/teams/experience/activity-read.ts';
import { fromPlainText, toPlainText } from '../../src/core/richtext.ts';

const rules: AddressRules = { localDomains: new Set(['parley.local']), domainPlatforms: new Map([['sip.partner.example', 'sip'], ['voip.example', 'sip']]) };

describe('command parser', () => {
  it.each([
    ['help', { kind: 'help' }],
    ['  HELP ', { kind: 'help' }],
    ['?', { kind: 'help' }],
    ['add bob@example.org', { kind: 'add', address: 'bob@example.org' }],
    ['add xmpp:bob@example.org hi there', { kind: 'add', address: 'xmpp:bob@example.org', message: 'hi there' }],
    ['remove sip:carol@voip.example', { kind: 'remove', address: 'sip:carol@voip.example' }],
    ['contacts', { kind: 'contacts' }],
    ['profile bob@example.org', { kind: 'profile', address: 'bob@example.org' }],
    ['chat bob', { kind: 'chat', target: 'bob' }],
    ['chat @bob@example.org', { kind: 'chat', target: 'bob@example.org' }],
    ['status away in a meeting', { kind: 'status', show: 'away', text: 'in a meeting' }],
    ['status dnd', { kind: 'status', show: 'dnd' }],
    ['status busy', { kind: 'status', show: 'dnd' }],
    ['@bob hello there', { kind: 'once', target: 'bob', offset: 5 }],
    ['add milk to the list', { kind: 'message' }],
    ['status of the project?', { kind: 'message' }],
    ['hello', { kind: 'message' }],
    ['contacts are nice', { kind: 'message' }],
  ])('%s', (line, want) => {
    expect(parseCommand(line, 'personal')).toEqual(want);
  });

  it('a leading / forces a command, so a bad one is an error, never a message', () => {
    expect(parseCommand('/add milk', 'personal')).toMatchObject({ kind: 'bad' });
    expect(parseCommand('/status happy', 'personal')).toMatchObject({ kind: 'bad' });
    expect(parseCommand('/frobnicate', 'personal')).toMatchObject({ kind: 'bad', reason: expect.stringContaining('frobnicate') });
    expect(parseCommand('add', 'personal')).toMatchObject({ kind: 'bad' });
    expect(parseCommand('@bob', 'personal')).toMatchObject({ kind: 'bad' });
    expect(parseCommand('add bob@', 'personal')).toMatchObject({ kind: 'bad' });
    expect(parseCommand('profile nobody', 'personal')).toMatchObject({ kind: 'bad' });
  });

  it('group chats know invite and help only', () => {
    expect(parseCommand('invite bob@example.org weekly sync', 'group')).toEqual({ kind: 'invite', address: 'bob@example.org', reason: 'weekly sync' });
    expect(parseCommand('add bob@example.org', 'group')).toEqual({ kind: 'message' });
    expect(parseCommand('help', 'group')).toEqual({ kind: 'help' });
  });

  it('drops the @name prefix from rich text, keeping marks', () => {
    const rt = { blocks: [{ t: 'p' as const, c: [{ t: 'text' as const, v: '@bob ' }, { t: 'text' as const, v: 'hi', marks: ['bold' as const] }] }] };
    expect(dropLeadingChars(rt, 5)).toEqual({ blocks: [{ t: 'p', c: [{ t: 'text', v: 'hi', marks: ['bold'] }] }] });
    expect(toPlainText(dropLeadingChars(fromPlainText('@bob hello\nworld'), 5) ?? { blocks: [] })).toBe('hello\nworld');
    expect(dropLeadingChars({ blocks: [{ t: 'pre', v: '@bob x' }] }, 5)).toBeUndefined();
  });
});

describe('addresses', () => {
  it('prefixes decide the platform; bare addresses follow the per-domain defaults, XMPP otherwise', () => {
    expect(parseAddress('xmpp:Bob@Example.org', rules)).toEqual({ ok: true, address: { platform: 'xmpp', id: 'bob@example.org', domain: 'example.org' } });
    expect(parseAddress('sip:Carol@Example.org', rules)).toEqual({ ok: true, address: { platform: 'sip', id: 'Carol@example.org', domain: 'example.org' } });
    expect(parseAddress('carol@voip.example', rules)).toMatchObject({ ok: true, address: { platform: 'sip' } });
    expect(parseAddress('dave@eu.sip.partner.example', rules)).toMatchObject({ ok: true, address: { platform: 'sip', domain: 'eu.sip.partner.example' } });
    expect(parseAddress('erin@elsewhere.example', rules)).toMatchObject({ ok: true, address: { platform: 'xmpp' } });
    expect(parseAddress('<mailto:frank@example.org>', rules)).toMatchObject({ ok: true, address: { platform: 'xmpp', id: 'frank@example.org' } });
    expect(parseAddress('xmpp:bob@example.org/phone', rules)).toMatchObject({ ok: true, address: { id: 'bob@example.org' } });
  });

  it('refuses what is not an address, with a reason', () => {
    for (const bad of ['', 'bob', '@example.org', 'bob@', 'bob@-bad-.org', 'bob@localhost', 'a b@example.org', "x'y@example.org", 'sip:a b@example.org', `${'a'.repeat(600)}@example.org`]) {
      const r = parseAddress(bad, rules);
      expect(r.ok, bad).toBe(false);
      if (!r.ok) expect(r.reason.length).toBeGreaterThan(5);
    }
    expect(parseAddress('alice@parley.local', rules)).toMatchObject({ ok: false, reason: expect.stringContaining('own organisation') });
  });

  it('local parts of Teams users are valid JID and SIP user parts', () => {
    expect(sanitiseLocal('Zoë.O\'Brien+test')).toBe('zoe.o.brien.test');
    expect(sanitiseLocal('..weird__')).toBe('weird');
    expect(preferredLocal({ id: '29:x', userPrincipalName: 'Alice.Smith@contoso.onmicrosoft.com', email: 'asmith@contoso.com' })).toBe('alice.smith');
    expect(preferredLocal({ id: '29:x', email: 'asmith@contoso.com', name: 'Alice' })).toBe('asmith');
    expect(preferredLocal({ id: '29:x', name: 'Zoë Ångström' })).toBe('zoe.angstrom');
    expect(preferredLocal({ id: '29:1abcDEF', name: '日本' })).toBe('user.1abcdef');
  });

  it('Teams reaction types map to emoji', () => {
    expect(['like', 'heart', 'laugh', 'surprised', 'sad', 'angry'].map(reactionEmoji)).toEqual(['👍', '❤️', '😆', '😮', '😢', '😠']);
    expect(reactionEmoji('1f440_eyes')).toBe('👀');
    expect(reactionEmoji('2705_whiteheavycheckmark')).toBe('✅');
    expect(reactionEmoji('<script>')).toBe(':script:');
  });
});

describe('cards', () => {
  const bob = { platform: 'xmpp' as const, id: 'bob@example.org', domain: 'example.org', name: 'Bob [click](javascript:x)' };

  it('a contact request card carries Accept / Decline whose data parses back', () => {
    const card = contactRequestCard(bob, 'x:bob@example.org/req1', 'hi *there*');
    expect(card.contentType).toBe(ADAPTIVE_CARD);
    const content = card.content as { type: string; version: string; body: Array<{ text: string }>; actions: Array<{ type: string; title: string; data: unknown }> };
    expect(content.type).toBe('AdaptiveCard');
    expect(content.actions.map((a) => [a.type, a.title])).toEqual([['Action.Submit', 'Accept'], ['Action.Submit', 'Decline']]);
    // What Teams posts back is the data, JSON round-tripped.
    const back = content.actions.map((a) => contactDecisionSchema.parse(JSON.parse(JSON.stringify(a.data))));
    expect(back.map((d) => d.decision)).toEqual(['accepted', 'declined']);
    expect(back[0]).toMatchObject({ peer: bob, request: 'x:bob@example.org/req1' });
    expect(JSON.stringify(content.body)).not.toContain('[click](javascript');
    expect(contactDecisionSchema.safeParse({ parley: 'contact-response', decision: 'accepted', peer: { platform: 'xmpp', id: 'x' }, request: 'r' }).success).toBe(false);
  });

  it('the contacts card lists platform and presence, capped', () => {
    const rows = Array.from({ length: MAX_CONTACTS_SHOWN + 3 }, (_, i) => ({ address: { platform: 'sip' as const, id: `u${i}@voip.example`, domain: 'voip.example' }, state: 'accepted' as const, show: 'away', status: 'lunch' }));
    const c = contactsCard(rows).content as { body: unknown[] };
    const json = JSON.stringify(c);
    expect(c.body).toHaveLength(MAX_CONTACTS_SHOWN + 2);
    expect(json).toContain('SIP');
    expect(json).toContain('🟡 away');
    expect(json).toContain('and 3 more');
    expect(JSON.stringify(contactsCard([]).content)).toContain('no contacts yet');
  });

  it('profile cards show only https avatars and escape markdown', () => {
    const c = JSON.stringify(profileCard(bob, { displayName: 'Bob *B*', email: 'bob@example.org', avatarUrl: 'javascript:alert(1)' }).content);
    expect(c).not.toContain('javascript:');
    expect(c).toContain(mdEscape('Bob *B*').replace(/\\/g, '\\\\'));
  });
});
