import { z } from 'zod';
import { ADDRESS_ID_MAX, DOMAIN_MAX, DOMAIN_RE, isWellFormed, NAME_MAX, NOT_WELL_FORMED, PLATFORMS, TENANT_MAX } from './limits.ts';

export { PLATFORMS };
export type Platform = (typeof PLATFORMS)[number];

export const domainSchema = z
  .string()
  .min(1)
  .max(DOMAIN_MAX)
  .transform((d) => d.toLowerCase())
  .refine((d) => DOMAIN_RE.test(d), { message: 'not a valid domain name' });

/**
 * A party on some platform. `id` is the platform's own identifier (bare JID,
 * SIP URI without scheme, Teams AAD object id, ...); `domain` is the
 * federation domain that policy is decided on.
 */
export const addressSchema = z.object({
  platform: z.enum(PLATFORMS),
  id: z.string().min(1).max(ADDRESS_ID_MAX).refine(isWellFormed, NOT_WELL_FORMED),
  domain: domainSchema,
  tenant: z.string().min(1).max(TENANT_MAX).optional(),
  name: z.string().max(NAME_MAX).optional(),
});
export type Address = z.infer<typeof addressSchema>;

/** Canonical string form of an address, stable across messages. */
export function addressKey(a: Pick<Address, 'platform' | 'id'>): string {
  return `${a.platform}:${a.id}`;
}

export function isLocal(a: Pick<Address, 'domain'>, localDomains: ReadonlySet<string>): boolean {
  return localDomains.has(a.domain);
}
