import { z } from 'zod';
import { PLATFORMS, addressKey, domainSchema, type Address } from './address.ts';
import type { Envelope } from './envelope.ts';
import type { ErrorCode } from './errors.ts';

/** Federation policy: per domain allow/block and platforms, per internal user on/off. */
export const domainRuleSchema = z.object({
  domain: domainSchema,
  action: z.enum(['allow', 'block']),
  /** Platforms allowed for this domain; absent means all. */
  platforms: z.array(z.enum(PLATFORMS)).optional(),
  kind: z.enum(['internal', 'partner']).default('partner'),
  label: z.string().max(256).optional(),
});
export type DomainRule = z.infer<typeof domainRuleSchema>;

export const policySnapshotSchema = z.object({
  version: z.number().int().nonnegative(),
  defaultAction: z.enum(['allow', 'block']),
  domains: z.array(domainRuleSchema),
  /** addressKey() of internal users whose federation is switched off. */
  disabledUsers: z.array(z.string()),
});
export type PolicySnapshot = z.infer<typeof policySnapshotSchema>;

export type PolicyDecision =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly code: Extract<ErrorCode, `POLICY_${string}`>; readonly reason: string };

/** Shared by every allowed message. */
const ALLOWED: PolicyDecision = Object.freeze({ allowed: true });

/** A snapshot indexed for the hot path. */
export class CompiledPolicy {
  readonly version: number;
  private readonly domains: Map<string, DomainRule>;
  private readonly disabled: Set<string>;

  constructor(
    readonly snapshot: PolicySnapshot,
    readonly localDomains: ReadonlySet<string>,
  ) {
    this.version = snapshot.version;
    this.domains = new Map(snapshot.domains.map((d) => [d.domain, d]));
    this.disabled = new Set(snapshot.disabledUsers);
  }

  isLocal(a: Pick<Address, 'domain'>): boolean {
    return this.localDomains.has(a.domain);
  }

  /** The most specific rule: exact domain first, then each parent domain. */
  ruleFor(domain: string): DomainRule | undefined {
    let d = domain;
    for (;;) {
      const rule = this.domains.get(d);
      if (rule) return rule;
      const dot = d.indexOf('.');
      if (dot < 0) return undefined;
      d = d.slice(dot + 1);
    }
  }

  decide(env: Pick<Envelope, 'from' | 'to'>): PolicyDecision {
    const fromLocal = this.isLocal(env.from);
    const toLocal = this.isLocal(env.to);
    if (fromLocal && toLocal) return this.userCheck(env.from) ?? this.userCheck(env.to) ?? ALLOWED;
    if (!fromLocal && !toLocal) {
      return { allowed: false, code: 'POLICY_DOMAIN_BLOCKED', reason: 'relaying between two external domains is not allowed' };
    }
    const internal = fromLocal ? env.from : env.to;
    const external = fromLocal ? env.to : env.from;
    const user = this.userCheck(internal);
    if (user) return user;
    const rule = this.ruleFor(external.domain);
    const action = rule?.action ?? this.snapshot.defaultAction;
    if (action === 'block') {
      return { allowed: false, code: 'POLICY_DOMAIN_BLOCKED', reason: `domain ${external.domain} is blocked` };
    }
    if (rule?.platforms && !rule.platforms.includes(external.platform)) {
      return {
        allowed: false,
        code: 'POLICY_PLATFORM_BLOCKED',
        reason: `platform ${external.platform} is not allowed for ${external.domain}`,
      };
    }
    return ALLOWED;
  }

  private userCheck(a: Pick<Address, 'platform' | 'id'>): PolicyDecision | undefined {
    // Decided for every message: no key is built while no user is disabled.
    if (this.disabled.size === 0 || !this.disabled.has(addressKey(a))) return undefined;
    return { allowed: false, code: 'POLICY_USER_DISABLED', reason: 'federation is disabled for this user' };
  }
}
