import { z } from 'zod';

export const PLATFORMS = ['teams', 'xmpp', 'sip', 'loopback'] as const;
export type Platform = (typeof PLATFORMS)[number];

const DOMAIN_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

export const domainSchema = z
  .string()
  .min(1)
  .max(253)
  .transform((d) => d.toLowerCase())
  .refine((d) => DOMAIN_RE.test(d), { message: 'not a valid domain name' });

/**
 * A party on some platform. `id` is the platform's own identifier (bare JID,
 * SIP URI without scheme, Teams AAD object id, ...); `domain` is the
 * federation domain that policy is decided on.
 */
export const addressSchema = z.object({
  platform: z.enum(PLATFORMS),
  id: z.string().min(1).max(512),
  domain: domainSchema,
  tenant: z.string().min(1).max(128).optional(),
  name: z.string().max(256).optional(),
});
export type Address = z.infer<typeof addressSchema>;

/** Canonical string form of an address, stable across messages. */
export function addressKey(a: Pick<Address, 'platform' | 'id'>): string {
  return `${a.platform}:${a.id}`;
}

export function isLocal(a: Pick<Address, 'domain'>, localDomains: ReadonlySet<string>): boolean {
  return localDomains.has(a.domain);
}
