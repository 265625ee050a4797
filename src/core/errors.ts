/**
 * One catalogue of coded errors. Every error Parley raises or reports carries a
 * stable code; `retryable` decides whether delivery tries again.
 */
export const ERROR_CATALOGUE = {
  CONFIG_INVALID: { status: 500, retryable: false, message: 'Configuration is invalid' },
  ENVELOPE_INVALID: { status: 400, retryable: false, message: 'Envelope is malformed' },
  BODY_TOO_LARGE: { status: 413, retryable: false, message: 'Request body is too large' },
  POLICY_DOMAIN_BLOCKED: { status: 403, retryable: false, message: 'Federation with this domain is blocked' },
  POLICY_PLATFORM_BLOCKED: { status: 403, retryable: false, message: 'Federation with this platform is not allowed for the domain' },
  POLICY_USER_DISABLED: { status: 403, retryable: false, message: 'Federation is disabled for this user' },
  NO_CONNECTOR: { status: 502, retryable: false, message: 'No connector serves the destination platform' },
  RECIPIENT_UNAVAILABLE: { status: 480, retryable: true, message: 'Recipient is temporarily unavailable' },
  RECIPIENT_UNKNOWN: { status: 404, retryable: false, message: 'Recipient does not exist' },
  DELIVERY_TIMEOUT: { status: 504, retryable: true, message: 'Delivery timed out' },
  DELIVERY_REJECTED: { status: 502, retryable: false, message: 'Destination rejected the message' },
  DELIVERY_UNAVAILABLE: { status: 503, retryable: true, message: 'Destination is unavailable' },
  UNDELIVERABLE: { status: 502, retryable: false, message: 'Message could not be delivered after retries' },
  /** A typing notification that could not go out while it still meant something. */
  EXPIRED: { status: 410, retryable: false, message: 'Too late to deliver: the moment it was about has passed' },
  RATE_LIMITED: { status: 429, retryable: true, message: 'Destination asked to slow down' },
  OVERLOADED: { status: 503, retryable: true, message: 'Parley is overloaded, try again' },
  SHUTTING_DOWN: { status: 503, retryable: true, message: 'Parley is shutting down' },
  /** Told to a Teams user whose external contact an administrator revoked (admin API). */
  CONTACT_REVOKED: { status: 410, retryable: false, message: 'An administrator removed this contact' },
  ACTOR_FAILED: { status: 500, retryable: false, message: 'Processing failed' },
  INTERNAL: { status: 500, retryable: false, message: 'Internal error' },
} as const satisfies Record<string, { status: number; retryable: boolean; message: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;
export const ERROR_CODES = Object.keys(ERROR_CATALOGUE) as [ErrorCode, ...ErrorCode[]];

/** The plain, serialisable shape of an error (crosses threads and queues). */
export interface ErrorInfo {
  code: ErrorCode;
  message: string;
  retryable: boolean;
  retryAfterMs?: number;
}

export class ParleyError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly status: number;
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, detail?: string, opts: { retryAfterMs?: number; cause?: unknown; retryable?: boolean } = {}) {
    const entry = ERROR_CATALOGUE[code];
    super(detail ? `${entry.message}: ${detail}` : entry.message, { cause: opts.cause });
    this.name = 'ParleyError';
    this.code = code;
    this.status = entry.status;
    this.retryable = opts.retryable ?? entry.retryable;
    this.retryAfterMs = opts.retryAfterMs;
  }

  toInfo(): ErrorInfo {
    const info: ErrorInfo = { code: this.code, message: this.message, retryable: this.retryable };
    if (this.retryAfterMs !== undefined) info.retryAfterMs = this.retryAfterMs;
    return info;
  }
}

export class ConfigError extends ParleyError {
  readonly field: string;
  constructor(field: string, detail: string) {
    super('CONFIG_INVALID', `${field}: ${detail}`);
    this.name = 'ConfigError';
    this.field = field;
  }
}

export class EnvelopeError extends ParleyError {
  readonly issues: readonly string[];
  constructor(issues: readonly string[]) {
    super('ENVELOPE_INVALID', issues.join('; '));
    this.name = 'EnvelopeError';
    this.issues = issues;
  }
}

export function errorInfo(err: unknown): ErrorInfo {
  if (err instanceof ParleyError) return err.toInfo();
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'INTERNAL', message, retryable: false };
}
