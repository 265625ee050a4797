import { ParleyError, type ErrorInfo } from '../core/errors.ts';
import type { OutboundItem } from './items.ts';

export interface DispatchPolicy {
  attempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  timeoutMs: number;
  concurrency: number;
  stalledIntervalMs: number;
}

/** What the dispatcher reports; the hub turns these into metadata, metrics and error envelopes. */
export interface DispatchEvents {
  delivered(connector: string, items: readonly OutboundItem[]): void;
  retrying(connector: string, item: OutboundItem, attempt: number, error: ErrorInfo, delayMs: number): void;
  /** Final failure: resolves once the sender has been told (durably). */
  failed(connector: string, item: OutboundItem, error: ErrorInfo): Promise<void>;
}

/** Thrown when a job cannot finish now but must not become a dead letter: it goes back to the queue. */
export class RequeueError extends Error {
  override readonly name = 'RequeueError';
}

export const TIMEOUT: ErrorInfo = { code: 'DELIVERY_TIMEOUT', message: 'Delivery timed out', retryable: true };
export const EXPIRED = new ParleyError('EXPIRED').toInfo();
export const SHORT: ErrorInfo = { code: 'DELIVERY_UNAVAILABLE', message: 'connector returned no result', retryable: true };

export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | typeof TIMEOUT> {
  let t: NodeJS.Timeout | undefined;
  const timer = new Promise<typeof TIMEOUT>((resolve) => {
    t = setTimeout(() => resolve(TIMEOUT), ms);
  });
  return Promise.race([p, timer]).finally(() => clearTimeout(t));
}

/** Whether two items go to the same party. */
export function sameRecipient(a: OutboundItem, b: OutboundItem): boolean {
  return a.env.to.platform === b.env.to.platform && a.env.to.id === b.env.to.id;
}

/** Items by chat, each chat's in order. */
export function byChat(items: readonly OutboundItem[]): Map<string, OutboundItem[]> {
  const groups = new Map<string, OutboundItem[]>();
  for (const item of items) {
    const list = groups.get(item.chat);
    if (list) list.push(item);
    else groups.set(item.chat, [item]);
  }
  return groups;
}
