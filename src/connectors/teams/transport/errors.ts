import type { ErrorInfo } from '../../../core/errors.ts';
import { BotConnectorError } from './bot-connector-client.ts';

const RETRYABLE_STATUS = new Set([0, 412, 500, 502, 503, 504]);

/**
 * What a failed Bot Connector call means for the delivery queue: 429 waits
 * out Retry-After; 412/5xx and network errors retry with jittered backoff
 * (the dispatcher's); other 4xx fail for good.
 */
export function classifyConnectorError(err: unknown): ErrorInfo {
  if (!(err instanceof BotConnectorError)) {
    // Token acquisition (MSAL) and the like: transient until proven otherwise.
    return { code: 'DELIVERY_UNAVAILABLE', message: `Teams send failed: ${err instanceof Error ? err.message : String(err)}`, retryable: true };
  }
  const withDelay = (e: ErrorInfo): ErrorInfo => (err.retryAfterMs !== undefined ? { ...e, retryAfterMs: err.retryAfterMs } : e);
  if (err.status === 429) {
    return { code: 'RATE_LIMITED', message: `Teams asked Parley to slow down: ${err.message}`, retryable: true, retryAfterMs: err.retryAfterMs ?? 1000 };
  }
  if (RETRYABLE_STATUS.has(err.status)) return withDelay({ code: 'DELIVERY_UNAVAILABLE', message: err.message, retryable: true });
  if (err.status === 404) return { code: 'RECIPIENT_UNKNOWN', message: `Teams no longer knows this conversation (the bot may have been removed): ${err.message}`, retryable: false };
  return { code: 'DELIVERY_REJECTED', message: err.message, retryable: false };
}
