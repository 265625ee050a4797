import type { ErrorCode, ErrorInfo } from '../../core/errors.ts';
import { ERROR_CATALOGUE } from '../../core/errors.ts';

/** SIP final responses <-> Parley's error catalogue. */
export function errorForResponse(status: number, reason: string, retryAfterHeader?: string): ErrorInfo {
  const code: ErrorCode =
    status === 404 || status === 484 || status === 604 ? 'RECIPIENT_UNKNOWN'
    : status === 408 ? 'DELIVERY_TIMEOUT'
    : status === 480 ? 'RECIPIENT_UNAVAILABLE'
    : status === 429 ? 'RATE_LIMITED'
    : status === 403 || status === 603 || status === 401 || status === 407 ? 'DELIVERY_REJECTED'
    : status === 500 || status === 503 || status === 504 || status === 486 || status === 600 ? 'DELIVERY_UNAVAILABLE'
    : status >= 500 ? 'DELIVERY_UNAVAILABLE'
    : 'DELIVERY_REJECTED';
  const info: ErrorInfo = { code, message: `${ERROR_CATALOGUE[code].message}: SIP ${status} ${reason.slice(0, 200)}`, retryable: ERROR_CATALOGUE[code].retryable };
  // 486/600 Busy: the user is there but busy; a later attempt may work.
  if (status === 486 || status === 600) info.retryable = true;
  const ra = retryAfterHeader ? Number.parseInt(retryAfterHeader, 10) : Number.NaN;
  if (Number.isFinite(ra) && ra >= 0) info.retryAfterMs = Math.min(ra, 3600) * 1000;
  return info;
}

/** The SIP response Parley gives to a request it could not take. */
export function responseForError(code: ErrorCode | undefined): { status: number; reason: string } {
  switch (code) {
    case 'POLICY_DOMAIN_BLOCKED':
    case 'POLICY_PLATFORM_BLOCKED':
    case 'POLICY_USER_DISABLED':
      return { status: 403, reason: 'Forbidden' };
    case 'ENVELOPE_INVALID':
      return { status: 400, reason: 'Bad Request' };
    case 'BODY_TOO_LARGE':
      return { status: 413, reason: 'Request Entity Too Large' };
    case 'RECIPIENT_UNKNOWN':
      return { status: 404, reason: 'Not Found' };
    case 'OVERLOADED':
    case 'SHUTTING_DOWN':
      return { status: 503, reason: 'Service Unavailable' };
    case 'RECIPIENT_UNAVAILABLE':
      return { status: 480, reason: 'Temporarily Unavailable' };
    default:
      return { status: 500, reason: 'Server Internal Error' };
  }
}
