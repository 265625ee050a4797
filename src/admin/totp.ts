import { Secret, TOTP } from 'otpauth';

/** RFC 6238 TOTP: SHA-1, 6 digits, 30 s (what authenticator apps expect), one step of clock skew either way. */
export const TOTP_PARAMS = { algorithm: 'SHA1', digits: 6, period: 30 } as const;

export function newTotpSecret(): string {
  return new Secret({ size: 20 }).base32;
}

export function totpFor(secret: string, label: string, issuer: string): TOTP {
  return new TOTP({ issuer, label, secret: Secret.fromBase32(secret), ...TOTP_PARAMS });
}

/** The time step the code belongs to, or undefined when it is wrong. */
export function checkTotp(secret: string, code: string, now = Date.now()): number | undefined {
  const totp = new TOTP({ secret: Secret.fromBase32(secret), ...TOTP_PARAMS });
  const delta = totp.validate({ token: code, timestamp: now, window: 1 });
  if (delta === null) return undefined;
  return Math.floor(now / 1000 / TOTP_PARAMS.period) + delta;
}

export function currentTotp(secret: string, now = Date.now()): string {
  return new TOTP({ secret: Secret.fromBase32(secret), ...TOTP_PARAMS }).generate({ timestamp: now });
}
