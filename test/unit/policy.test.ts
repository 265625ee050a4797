import { describe, expect, it } from 'vitest';
import { addressKey, type Address } from '../../src/core/address.ts';
import { CompiledPolicy, domainRuleSchema, policySnapshotSchema, type PolicySnapshot } from '../../src/core/policy.ts';
import { LOCAL, addr, alice, bob } from './fixtures.ts';

type SnapshotInput = Partial<Omit<PolicySnapshot, 'domains'>> & { domains?: unknown[] };

function policy(s: SnapshotInput = {}, localDomains: readonly string[] = [LOCAL]): CompiledPolicy {
  const snapshot = policySnapshotSchema.parse({ version: 1, defaultAction: 'allow', domains: [], disabledUsers: [], ...s });
  return new CompiledPolicy(snapshot, new Set(localDomains));
}

const ext = (domain: string, platform: Address['platform'] = 'xmpp'): Address => addr(platform, `u@${domain}`, domain);
const carol = addr('teams', 'carol-aad-id', LOCAL);

describe('CompiledPolicy.decide', () => {
  it('allows by default in both directions', () => {
    const p = policy();
    expect(p.decide({ from: alice, to: bob })).toEqual({ allowed: true });
    expect(p.decide({ from: bob, to: alice })).toEqual({ allowed: true });
  });

  it('blocks a blocked domain in both directions', () => {
    const p = policy({ domains: [{ domain: 'partner.example', action: 'block' }] });
    for (const env of [{ from: alice, to: bob }, { from: bob, to: alice }]) {
      const d = p.decide(env);
      expect(d).toMatchObject({ allowed: false, code: 'POLICY_DOMAIN_BLOCKED' });
      if (!d.allowed) expect(d.reason).toContain('partner.example');
    }
  });

  it('does not block other domains because one is blocked', () => {
    const p = policy({ domains: [{ domain: 'partner.example', action: 'block' }] });
    expect(p.decide({ from: alice, to: ext('other.example') })).toEqual({ allowed: true });
    expect(p.decide({ from: alice, to: ext('notpartner.example') })).toEqual({ allowed: true });
    expect(p.decide({ from: alice, to: ext('partner.example.org') })).toEqual({ allowed: true });
  });

  it('applies a parent-domain rule to subdomains at any depth', () => {
    const p = policy({ domains: [{ domain: 'example.com', action: 'block' }] });
    for (const d of ['example.com', 'chat.example.com', 'a.b.c.example.com']) {
      expect(p.decide({ from: alice, to: ext(d) })).toMatchObject({ allowed: false, code: 'POLICY_DOMAIN_BLOCKED' });
    }
    expect(p.ruleFor('chat.example.com')?.domain).toBe('example.com');
    expect(p.ruleFor('example.org')).toBeUndefined();
  });

  it('lets the more specific rule win over the parent, in either order', () => {
    const rules = [
      { domain: 'example.com', action: 'block' },
      { domain: 'chat.example.com', action: 'allow' },
    ];
    for (const domains of [rules, [...rules].reverse()]) {
      const p = policy({ domains });
      expect(p.decide({ from: alice, to: ext('chat.example.com') })).toEqual({ allowed: true });
      expect(p.decide({ from: alice, to: ext('x.chat.example.com') })).toEqual({ allowed: true });
      expect(p.decide({ from: alice, to: ext('mail.example.com') })).toMatchObject({ allowed: false });
      expect(p.decide({ from: alice, to: ext('example.com') })).toMatchObject({ allowed: false });
    }
  });

  it('lets a specific block win over an allowed parent', () => {
    const p = policy({
      defaultAction: 'block',
      domains: [
        { domain: 'example.com', action: 'allow' },
        { domain: 'bad.example.com', action: 'block' },
      ],
    });
    expect(p.decide({ from: alice, to: ext('good.example.com') })).toEqual({ allowed: true });
    expect(p.decide({ from: alice, to: ext('bad.example.com') })).toMatchObject({ allowed: false, code: 'POLICY_DOMAIN_BLOCKED' });
  });

  it('restricts platforms for a domain', () => {
    const p = policy({ domains: [{ domain: 'partner.example', action: 'allow', platforms: ['xmpp'] }] });
    expect(p.decide({ from: alice, to: ext('partner.example', 'xmpp') })).toEqual({ allowed: true });
    const d = p.decide({ from: ext('partner.example', 'sip'), to: alice });
    expect(d).toMatchObject({ allowed: false, code: 'POLICY_PLATFORM_BLOCKED' });
    if (!d.allowed) expect(d.reason).toContain('sip');
  });

  it('inherits a parent rule platform restriction on subdomains', () => {
    const p = policy({ domains: [{ domain: 'partner.example', action: 'allow', platforms: ['sip'] }] });
    expect(p.decide({ from: alice, to: ext('voice.partner.example', 'sip') })).toEqual({ allowed: true });
    expect(p.decide({ from: alice, to: ext('voice.partner.example', 'xmpp') })).toMatchObject({ code: 'POLICY_PLATFORM_BLOCKED' });
  });

  it('reports a block rather than a platform restriction when the domain is blocked', () => {
    const p = policy({ domains: [{ domain: 'partner.example', action: 'block', platforms: ['xmpp'] }] });
    expect(p.decide({ from: alice, to: ext('partner.example', 'sip') })).toMatchObject({ code: 'POLICY_DOMAIN_BLOCKED' });
  });

  it('blocks a disabled internal user in both directions, by addressKey', () => {
    const p = policy({ disabledUsers: [addressKey(alice)] });
    const out = p.decide({ from: alice, to: bob });
    expect(out).toMatchObject({ allowed: false, code: 'POLICY_USER_DISABLED' });
    if (!out.allowed) expect(out.reason).not.toContain(alice.id); // the reason may reach an external sender: no internal ids
    expect(p.decide({ from: bob, to: alice })).toMatchObject({ allowed: false, code: 'POLICY_USER_DISABLED' });
    expect(p.decide({ from: carol, to: bob })).toEqual({ allowed: true });
  });

  it('matches disabled users on platform and id, not on id alone', () => {
    const p = policy({ disabledUsers: [`xmpp:${alice.id}`] });
    expect(p.decide({ from: alice, to: bob })).toEqual({ allowed: true });
  });

  it('checks the disabled user before domain rules', () => {
    const p = policy({ disabledUsers: [addressKey(alice)], domains: [{ domain: 'partner.example', action: 'block' }] });
    expect(p.decide({ from: alice, to: bob })).toMatchObject({ code: 'POLICY_USER_DISABLED' });
  });

  it('refuses to relay between two external parties, even with allow rules', () => {
    const p = policy({ domains: [{ domain: 'partner.example', action: 'allow' }, { domain: 'other.example', action: 'allow' }] });
    const d = p.decide({ from: bob, to: ext('other.example') });
    expect(d).toMatchObject({ allowed: false, code: 'POLICY_DOMAIN_BLOCKED' });
    if (!d.allowed) expect(d.reason).toMatch(/relay/);
  });

  it('allows two internal parties even when the default is block', () => {
    const p = policy({ defaultAction: 'block' });
    expect(p.decide({ from: alice, to: carol })).toEqual({ allowed: true });
  });

  it('still refuses internal traffic for a disabled user (sender or receiver)', () => {
    const p = policy({ disabledUsers: [addressKey(carol)] });
    expect(p.decide({ from: alice, to: carol })).toMatchObject({ code: 'POLICY_USER_DISABLED' });
    expect(p.decide({ from: carol, to: alice })).toMatchObject({ code: 'POLICY_USER_DISABLED' });
  });

  it('with defaultAction block, blocks unknown domains and allows listed ones', () => {
    const p = policy({ defaultAction: 'block', domains: [{ domain: 'partner.example', action: 'allow' }] });
    expect(p.decide({ from: alice, to: bob })).toEqual({ allowed: true });
    expect(p.decide({ from: alice, to: ext('unknown.example') })).toMatchObject({ allowed: false, code: 'POLICY_DOMAIN_BLOCKED' });
  });

  it('treats any of several local domains as internal', () => {
    const p = policy({ defaultAction: 'block' }, [LOCAL, 'corp.example']);
    expect(p.decide({ from: alice, to: ext('corp.example') })).toEqual({ allowed: true });
    expect(p.isLocal({ domain: 'corp.example' })).toBe(true);
    expect(p.isLocal({ domain: 'sub.corp.example' })).toBe(false);
  });

  it('normalises rule domains to lower case when parsed', () => {
    const p = policy({ domains: [{ domain: 'Partner.EXAMPLE', action: 'block' }] });
    expect(p.decide({ from: alice, to: bob })).toMatchObject({ allowed: false });
  });

  it('exposes the snapshot version', () => {
    expect(policy({ version: 42 }).version).toBe(42);
  });
});

describe('policy schemas', () => {
  it('defaults a rule kind to partner', () => {
    expect(domainRuleSchema.parse({ domain: 'x.example', action: 'allow' }).kind).toBe('partner');
  });

  it.each([
    { domain: 'bad_domain', action: 'allow' },
    { domain: 'x.example', action: 'deny' },
    { domain: 'x.example', action: 'allow', platforms: ['slack'] },
  ])('rejects invalid rule %j', (rule) => {
    expect(domainRuleSchema.safeParse(rule).success).toBe(false);
  });
});
