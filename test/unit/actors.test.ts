import { describe, expect, it } from 'vitest';
import {
  behaviourFor,
  chatBehaviour,
  userSessionBehaviour,
  type ActorContext,
  type ActorInput,
  type Effect,
  type Origin,
} from '../../actors/index.ts';
import type { ChatState } from '../../actors/chat.ts';
import { RECENT_IDS } from '../../actors/common.ts';
import type { UserState } from '../../actors/user-session.ts';
import { addressKey } from '../../src/core/address.ts';
import { parseEnvelope, type Envelope, type EnvelopeOf } from '../../src/core/envelope.ts';
import { CompiledPolicy, policySnapshotSchema, type PolicySnapshot } from '../../src/core/policy.ts';
import { chatIdFor } from '../../src/core/routing.ts';
import { LOCAL, addr, alice, bob, deepFreeze, sample } from './fixtures.ts';

const NOW = 1_800_000_000_000;
const carol = addr('teams', 'carol-aad-id', LOCAL);
const mallory = addr('xmpp', 'mallory@blocked.example', 'blocked.example');

function context(policy: Partial<Omit<PolicySnapshot, 'domains'>> & { domains?: unknown[] } = {}): ActorContext {
  const snapshot = policySnapshotSchema.parse({
    version: 1,
    defaultAction: 'allow',
    domains: [{ domain: 'blocked.example', action: 'block' }],
    disabledUsers: [],
    ...policy,
  });
  let n = 0;
  return {
    policy: new CompiledPolicy(snapshot, new Set([LOCAL])),
    defaultTenant: 'tenant-default',
    now: NOW,
    newId: () => `gen-${++n}`,
  };
}

const input = (env: Envelope, origin: Origin = 'ingress'): ActorInput => ({ env, origin });

function delivers(effects: readonly Effect[]): Envelope[] {
  return effects.flatMap((e) => (e.kind === 'deliver' ? [e.env] : []));
}

function metadata(effects: readonly Effect[]) {
  return effects.flatMap((e) => (e.kind === 'metadata' ? [e.event] : []));
}

describe('behaviourFor', () => {
  it('picks the user session for user: keys and the chat otherwise', () => {
    expect(behaviourFor('user:teams:alice')).toBe(userSessionBehaviour);
    expect(behaviourFor('chat:a|b')).toBe(chatBehaviour);
    expect(behaviourFor('chat:19:room@thread')).toBe(chatBehaviour);
  });

  it('builds fresh initial states', () => {
    expect(chatBehaviour.initial('chat:x')).toEqual({ n: 0, recent: [] });
    expect(userSessionBehaviour.initial('user:x')).toEqual({ contacts: {}, recent: [] });
    expect(chatBehaviour.initial('chat:x')).not.toBe(chatBehaviour.initial('chat:x'));
  });
});

describe('chat behaviour', () => {
  it('forwards an allowed message as one deliver effect carrying the same envelope', () => {
    const ctx = context();
    const env = sample('im', { from: alice, to: bob });
    const r = chatBehaviour.receive(chatBehaviour.initial('chat:x'), input(env), ctx);
    expect(r.outcome).toBe('accepted');
    expect(r.error).toBeUndefined();
    expect(r.effects).toEqual([{ kind: 'deliver', env, chatId: chatIdFor(env) }]);
    expect(delivers(r.effects)[0]).toBe(env);
    expect(r.state).toEqual({ n: 1, recent: [env.id] });
  });

  it('forwards inbound messages and keeps the group chatId', () => {
    const env = { ...sample('reaction', { from: bob, to: alice }), chatId: '19:room@thread' };
    const r = chatBehaviour.receive(chatBehaviour.initial('chat:x'), input(env), context());
    expect(r.effects).toEqual([{ kind: 'deliver', env, chatId: '19:room@thread' }]);
  });

  it('blocks a message from a blocked domain: metadata row, error back to the sender, no delivery', () => {
    const ctx = context();
    const env = sample('im', { id: 'bad-1', from: mallory, to: alice });
    const r = chatBehaviour.receive(chatBehaviour.initial('chat:x'), input(env), ctx);
    expect(r.outcome).toBe('blocked');
    expect(r.error).toMatchObject({ code: 'POLICY_DOMAIN_BLOCKED', retryable: false });
    expect(r.effects).toHaveLength(2);

    const [event] = metadata(r.effects);
    expect(event).toMatchObject({
      outcome: 'blocked',
      reason: 'POLICY_DOMAIN_BLOCKED',
      messageId: 'bad-1',
      type: 'im',
      direction: 'inbound',
      ts: NOW,
      chatId: chatIdFor(env),
      tenant: 'tenant-default',
    });

    const sent = delivers(r.effects);
    expect(sent).toHaveLength(1);
    const err = sent[0] as EnvelopeOf<'error'>;
    expect(err).toMatchObject({
      type: 'error',
      id: 'gen-1',
      ts: NOW,
      from: alice,
      to: mallory,
      target: 'bad-1',
      code: 'POLICY_DOMAIN_BLOCKED',
      retryable: false,
    });
    expect(err.message).toContain('blocked.example');
    expect(sent).not.toContain(env);
    // the generated error is itself a valid envelope, routed to the same chat
    expect(() => parseEnvelope(JSON.parse(JSON.stringify(err)))).not.toThrow();
    const deliver = r.effects.find((e) => e.kind === 'deliver');
    expect(deliver).toMatchObject({ chatId: chatIdFor(env) });
  });

  it('blocks an outbound message to a blocked domain, sending the error to the internal sender', () => {
    const env = sample('im', { from: alice, to: mallory });
    const r = chatBehaviour.receive(chatBehaviour.initial('chat:x'), input(env), context());
    expect(r.outcome).toBe('blocked');
    expect(delivers(r.effects)).toEqual([expect.objectContaining({ type: 'error', from: mallory, to: alice, target: env.id })]);
    expect(metadata(r.effects)[0]).toMatchObject({ direction: 'outbound', outcome: 'blocked' });
  });

  it('keeps the chatId on the error for a blocked group message', () => {
    const env = { ...sample('im', { from: mallory, to: alice }), chatId: 'g-1' };
    const r = chatBehaviour.receive(chatBehaviour.initial('chat:g-1'), input(env), context());
    expect(delivers(r.effects)[0]).toMatchObject({ type: 'error', chatId: 'g-1' });
    expect(metadata(r.effects)[0]?.chatId).toBe('g-1');
  });

  it('blocks a disabled user with POLICY_USER_DISABLED', () => {
    const ctx = context({ disabledUsers: [addressKey(alice)] });
    const r = chatBehaviour.receive(chatBehaviour.initial('chat:x'), input(sample('im', { from: alice, to: bob })), ctx);
    expect(r.outcome).toBe('blocked');
    expect(r.error?.code).toBe('POLICY_USER_DISABLED');
    expect(delivers(r.effects)[0]).toMatchObject({ type: 'error', code: 'POLICY_USER_DISABLED', to: alice });
  });

  it('does not answer a blocked error envelope with another error (no loops)', () => {
    const env = sample('error', { from: mallory, to: alice });
    const r = chatBehaviour.receive(chatBehaviour.initial('chat:x'), input(env), context());
    expect(r.outcome).toBe('blocked');
    expect(delivers(r.effects)).toEqual([]);
    expect(metadata(r.effects)).toHaveLength(1);
  });

  it('leaves no state behind for a blocked message (blocked traffic cannot grow Redis)', () => {
    const env = sample('im', { from: mallory, to: alice });
    const initial = chatBehaviour.initial('chat:x');
    const r = chatBehaviour.receive(initial, input(env), context());
    expect(r.outcome).toBe('blocked');
    expect(r.state).toBe(initial);
  });

  it('drops a redelivered id as a duplicate with no effects and the same state', () => {
    const ctx = context();
    const env = sample('im');
    const first = chatBehaviour.receive(chatBehaviour.initial('chat:x'), input(env), ctx);
    const again = chatBehaviour.receive(first.state, input({ ...env, ts: env.ts + 5 }), ctx);
    expect(again.outcome).toBe('duplicate');
    expect(again.effects).toEqual([]);
    expect(again.state).toBe(first.state);
  });

  it('refuses a redelivered blocked message again, with its own error', () => {
    const ctx = context();
    const env = sample('im', { from: mallory, to: alice });
    const first = chatBehaviour.receive(chatBehaviour.initial('chat:x'), input(env), ctx);
    const again = chatBehaviour.receive(first.state, input(env), ctx);
    expect(again.outcome).toBe('blocked');
    expect(again.effects.filter((e) => e.kind === 'metadata')).toHaveLength(1);
  });

  it('remembers only the last RECENT_IDS ids', () => {
    const ctx = context();
    let state = chatBehaviour.initial('chat:x');
    for (let i = 0; i < RECENT_IDS + 4; i++) state = chatBehaviour.receive(state, input(sample('typing', { id: `t${i}` })), ctx).state;
    expect(state.n).toBe(RECENT_IDS + 4);
    expect(state.recent).toHaveLength(RECENT_IDS);
    expect(state.recent[RECENT_IDS - 1]).toBe(`t${RECENT_IDS + 3}`);
    expect(chatBehaviour.receive(state, input(sample('typing', { id: `t${RECENT_IDS + 3}` })), ctx).outcome).toBe('duplicate');
    expect(chatBehaviour.receive(state, input(sample('typing', { id: 't0' })), ctx).outcome).toBe('accepted');
  });

  it('lets origin system bypass policy', () => {
    const env = sample('error', { from: alice, to: mallory });
    const r = chatBehaviour.receive(chatBehaviour.initial('chat:x'), input(env, 'system'), context({ defaultAction: 'block' }));
    expect(r.outcome).toBe('accepted');
    expect(r.effects).toEqual([{ kind: 'deliver', env, chatId: chatIdFor(env) }]);
  });

  it('still drops system-origin duplicates', () => {
    const ctx = context();
    const env = sample('error');
    const first = chatBehaviour.receive(chatBehaviour.initial('chat:x'), input(env, 'system'), ctx);
    expect(chatBehaviour.receive(first.state, input(env, 'system'), ctx).outcome).toBe('duplicate');
  });

  it('never mutates the input state (deep-frozen) across accept, block and duplicate', () => {
    const ctx = context();
    const frozen: ChatState = deepFreeze({ n: 3, recent: ['a', 'b'] });
    const envs = [sample('im', { id: 'c' }), sample('im', { id: 'd', from: mallory, to: alice }), sample('im', { id: 'a' })];
    const outcomes = envs.map((env) => chatBehaviour.receive(frozen, input(env), ctx).outcome);
    expect(outcomes).toEqual(['accepted', 'blocked', 'duplicate']);
    expect(frozen).toEqual({ n: 3, recent: ['a', 'b'] });
  });

  it('never mutates a deep-frozen envelope', () => {
    const env = deepFreeze(sample('im', { from: mallory, to: alice }));
    expect(() => chatBehaviour.receive(chatBehaviour.initial('chat:x'), input(env), context())).not.toThrow();
    expect(() => chatBehaviour.receive(chatBehaviour.initial('chat:x'), input(deepFreeze(sample('im'))), context())).not.toThrow();
  });
});

describe('user session behaviour', () => {
  const initial = (): UserState => userSessionBehaviour.initial('user:teams:alice-aad-id');
  const bobKey = addressKey(bob);

  function run(state: UserState, env: Envelope, ctx = context(), origin: Origin = 'ingress') {
    return userSessionBehaviour.receive(deepFreeze(state), input(env, origin), ctx);
  }

  it('forwards an allowed session envelope unchanged', () => {
    const env = sample('profile-request', { from: alice, to: bob });
    const r = run(initial(), env);
    expect(r.outcome).toBe('accepted');
    expect(r.effects).toEqual([{ kind: 'deliver', env, chatId: chatIdFor(env) }]);
    expect(r.state.recent).toEqual([env.id]);
  });

  it('marks an outbound contact request pending-out', () => {
    const r = run(initial(), sample('contact-request', { from: alice, to: bob }));
    expect(r.state.contacts).toEqual({ [bobKey]: { state: 'pending-out', since: NOW, askedBy: 'out' } });
  });

  it('marks an inbound contact request pending-in, keyed by the external sender', () => {
    const r = run(initial(), sample('contact-request', { from: bob, to: alice }));
    expect(r.state.contacts).toEqual({ [bobKey]: { state: 'pending-in', since: NOW, askedBy: 'in' } });
  });

  it('moves pending-out to accepted on an inbound accept, keeping since', () => {
    const start: UserState = { contacts: { [bobKey]: { state: 'pending-out', since: 5 } }, recent: [] };
    const env: Envelope = { ...sample('contact-response', { id: 'r1', from: bob, to: alice }), decision: 'accepted' };
    const r = run(start, env);
    expect(r.state.contacts[bobKey]).toEqual({ state: 'accepted', since: 5 });
    expect(delivers(r.effects)).toEqual([env]);
  });

  it('moves pending-in to accepted when the internal user accepts', () => {
    const start: UserState = { contacts: { [bobKey]: { state: 'pending-in', since: 7 } }, recent: [] };
    const r = run(start, { ...sample('contact-response', { from: alice, to: bob }), decision: 'accepted' });
    expect(r.state.contacts[bobKey]).toEqual({ state: 'accepted', since: 7 });
  });

  it('remembers who asked first through the acceptance', () => {
    const asked = run(initial(), sample('contact-request', { from: alice, to: bob })).state;
    expect(asked.contacts[bobKey]?.askedBy).toBe('out');
    const accepted = run(asked, { ...sample('contact-response', { id: 'r9', from: bob, to: alice }), decision: 'accepted' }).state;
    expect(accepted.contacts[bobKey]).toMatchObject({ state: 'accepted', askedBy: 'out' });
  });

  it.each(['declined', 'removed'] as const)('removes the contact on %s, in either direction', (decision) => {
    for (const state of ['pending-out', 'pending-in', 'accepted'] as const) {
      const start: UserState = { contacts: { [bobKey]: { state, since: 1 }, other: { state: 'accepted', since: 2 } }, recent: [] };
      const inbound = run(start, { ...sample('contact-response', { from: bob, to: alice }), decision });
      expect(inbound.state.contacts).toEqual({ other: { state: 'accepted', since: 2 } });
      const outbound = run(start, { ...sample('contact-response', { from: alice, to: bob }), decision });
      expect(outbound.state.contacts).toEqual({ other: { state: 'accepted', since: 2 } });
    }
  });

  it('keeps an accepted contact accepted on a new request either way', () => {
    const start: UserState = { contacts: { [bobKey]: { state: 'accepted', since: 9 } }, recent: [] };
    expect(run(start, sample('contact-request', { from: bob, to: alice })).state.contacts[bobKey]).toEqual({ state: 'accepted', since: 9 });
    expect(run(start, sample('contact-request', { from: alice, to: bob })).state.contacts[bobKey]).toEqual({ state: 'accepted', since: 9 });
  });

  // BUG: an external user can make themselves an accepted contact by sending
  // an unsolicited "accepted" response (no request was ever sent to them).
  // RFC 6121 §3.1.5 likewise ignores a "subscribed" with no pending request.
  it('ignores an unsolicited inbound accept (no pending-out request)', () => {
    const r = run(initial(), { ...sample('contact-response', { from: bob, to: alice }), decision: 'accepted' });
    expect(r.state.contacts[bobKey]).toBeUndefined();
  });

  it('follows a full handshake: request out, accept in, remove', () => {
    const ctx = context();
    let s = initial();
    s = run(s, sample('contact-request', { id: 'a', from: alice, to: bob }), ctx).state;
    expect(s.contacts[bobKey]?.state).toBe('pending-out');
    s = run(s, { ...sample('contact-response', { id: 'b', from: bob, to: alice }), decision: 'accepted' }, ctx).state;
    expect(s.contacts[bobKey]?.state).toBe('accepted');
    s = run(s, { ...sample('contact-response', { id: 'c', from: alice, to: bob }), decision: 'removed' }, ctx).state;
    expect(s.contacts[bobKey]).toBeUndefined();
  });

  it('stores own presence for outbound presence, with and without status', () => {
    const withStatus = run(initial(), { ...sample('presence', { from: alice, to: bob, ts: 111 }), show: 'dnd', status: 'focus' });
    expect(withStatus.state.presence).toEqual({ show: 'dnd', status: 'focus', ts: 111 });
    const bare = { ...sample('presence', { id: 'p2', from: alice, to: bob, ts: 222 }), show: 'available' as const };
    delete bare.status;
    const noStatus = run(withStatus.state, bare);
    expect(noStatus.state.presence).toEqual({ show: 'available', ts: 222 });
    expect(noStatus.state.presence).not.toHaveProperty('status');
    expect(delivers(noStatus.effects)).toEqual([bare]);
  });

  it('does not store inbound presence as own presence', () => {
    const r = run(initial(), sample('presence', { from: bob, to: alice }));
    expect(r.state.presence).toBeUndefined();
    expect(r.outcome).toBe('accepted');
    expect(delivers(r.effects)).toHaveLength(1);
  });

  it('blocks session traffic with a blocked domain and leaves contacts alone', () => {
    const env = sample('contact-request', { id: 'x1', from: mallory, to: alice });
    const r = run(initial(), env);
    expect(r.outcome).toBe('blocked');
    expect(r.state.contacts).toEqual({});
    expect(metadata(r.effects)).toEqual([expect.objectContaining({ outcome: 'blocked', type: 'contact', reason: 'POLICY_DOMAIN_BLOCKED' })]);
    expect(delivers(r.effects)).toEqual([expect.objectContaining({ type: 'error', from: alice, to: mallory, target: 'x1' })]);
  });

  it('blocks a disabled user session', () => {
    const r = run(initial(), sample('presence', { from: alice, to: bob }), context({ disabledUsers: [addressKey(alice)] }));
    expect(r.outcome).toBe('blocked');
    expect(r.state.presence).toBeUndefined();
  });

  it('drops duplicates with no effects', () => {
    const ctx = context();
    const env = sample('contact-request', { from: bob, to: alice });
    const first = run(initial(), env, ctx);
    const again = run(first.state, env, ctx);
    expect(again.outcome).toBe('duplicate');
    expect(again.effects).toEqual([]);
    expect(again.state).toBe(first.state);
  });

  it('lets origin system bypass policy', () => {
    const r = run(initial(), sample('presence', { from: alice, to: mallory }), context(), 'system');
    expect(r.outcome).toBe('accepted');
    expect(delivers(r.effects)).toHaveLength(1);
  });

  it('never mutates the input state (deep-frozen)', () => {
    const ctx = context();
    const start: UserState = deepFreeze({
      presence: { show: 'away', ts: 1 },
      contacts: { [bobKey]: { state: 'pending-out', since: 1 }, 'sip:x': { state: 'pending-in', since: 2 } },
      recent: ['old'],
    });
    const snapshot = structuredClone(start);
    const envs: Envelope[] = [
      sample('presence', { id: 'n1', from: alice, to: bob }),
      { ...sample('contact-response', { id: 'n2', from: bob, to: alice }), decision: 'accepted' },
      { ...sample('contact-response', { id: 'n3', from: bob, to: alice }), decision: 'declined' },
      sample('contact-request', { id: 'n4', from: addr('xmpp', 'z@z.example', 'z.example'), to: alice }),
      sample('contact-request', { id: 'n5', from: mallory, to: alice }),
      sample('presence', { id: 'old', from: alice, to: bob }),
    ];
    for (const env of envs) expect(() => userSessionBehaviour.receive(start, input(env), ctx)).not.toThrow();
    expect(start).toEqual(snapshot);
  });

  it('works with a second internal party (internal contact)', () => {
    const r = run(initial(), sample('contact-request', { from: alice, to: carol }));
    expect(r.outcome).toBe('accepted');
    expect(r.state.contacts[addressKey(carol)]?.state).toBe('pending-out');
  });
});
