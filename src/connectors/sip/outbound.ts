import type { UserAgent } from 'sip.js';
import type { DeliveryResult } from '../../core/connector.ts';
import type { Envelope } from '../../core/envelope.ts';
import { ParleyError } from '../../core/errors.ts';
import { fromPlainText, toPlainText, type RichText } from '../../core/richtext.ts';
import { isRich, richTextToHtml } from './content.ts';
import { buildIsComposing, ISCOMPOSING_TYPE } from './iscomposing.ts';
import type { Publications } from './presence.ts';
import { sendRequest, type FinalResponse } from './requests.ts';
import { errorForResponse } from './status.ts';
import { sipUriOf } from './uri.ts';
import type { Watches } from './watches.ts';

export interface OutboundDeps {
  ua(): UserAgent | undefined;
  publications: Publications;
  watches: Watches;
  /** Hands an envelope the far side's answer produced back to the hub (a refused contact request). */
  emit(env: Envelope): void;
  newId(): string;
  timeoutMs: number;
  /** Send rich text as text/html (else text/plain only). */
  html: boolean;
}

const OK: DeliveryResult = { ok: true };

function result(res: FinalResponse): DeliveryResult {
  if (res.status >= 200 && res.status < 300) return OK;
  return { ok: false, error: errorForResponse(res.status, res.reason, res.header('retry-after')) };
}

const rejected = (detail: string): DeliveryResult => ({ ok: false, error: new ParleyError('DELIVERY_REJECTED', detail).toInfo() });

/** One envelope for a SIP user -> the SIP request(s) that carry it. */
export async function deliverOne(env: Envelope, d: OutboundDeps): Promise<DeliveryResult> {
  const ua = d.ua();
  if (!ua) return { ok: false, error: new ParleyError('DELIVERY_UNAVAILABLE', 'not connected to the SIP edge').toInfo() };
  const to = sipUriOf(env.to);
  const from = sipUriOf(env.from);
  if (!to || !from) return { ok: false, error: new ParleyError('RECIPIENT_UNKNOWN', `not a SIP address: ${env.to.id.slice(0, 100)}`).toInfo() };
  const message = (text: RichText): Promise<DeliveryResult> => sendText(ua, from, to, env, text, d);
  switch (env.type) {
    case 'im':
      return message(env.body);
    case 'edit':
      return message({ blocks: [{ t: 'p', c: [{ t: 'text', v: '(edited) ' }] }, ...env.body.blocks] });
    case 'file':
      return message(fromPlainText(`${env.name} (${env.mime}, ${env.size} bytes): ${env.url}`));
    case 'reaction':
      return env.action === 'add' ? message(fromPlainText(`reacted ${env.emoji}`)) : OK;
    case 'invite':
      return message(fromPlainText(`${env.from.name ?? env.from.id} invites you to ${env.room.name ?? env.room.id}${env.reason ? `: ${env.reason}` : ''}`));
    case 'error':
      // The SIP user's own message failed on the way to Teams after it was accepted: tell them in-band.
      return message(fromPlainText(`Parley could not deliver your message: ${env.message}`));
    case 'typing': {
      const active = env.state === 'composing';
      const res = await sendRequest(ua, { method: 'MESSAGE', target: to, from, body: { type: ISCOMPOSING_TYPE, content: buildIsComposing(active) } }, d.timeoutMs);
      // Typing is best effort: a stale indication is worth no retry.
      return res.status === 408 || res.status >= 500 ? result(res) : OK;
    }
    case 'presence':
      return result(await d.publications.publish(env, from));
    case 'contact-request': {
      const o = await d.watches.subscribe(env.from, env.to, from, to, true);
      if (o.kind === 'declined') {
        d.emit({ id: d.newId(), ts: Date.now(), type: 'contact-response', decision: 'declined', from: env.to, to: env.from });
        return OK;
      }
      if (o.kind === 'failed') return result({ status: o.status, reason: o.reason, header: (n) => (n === 'retry-after' ? o.retryAfter : undefined) });
      return OK;
    }
    case 'contact-response': {
      if (env.decision !== 'accepted') {
        d.watches.unsubscribe(env.from, env.to);
        return OK;
      }
      // Accepting is subscribing back: the edge then lets the contact watch this user.
      const o = await d.watches.subscribe(env.from, env.to, from, to, false);
      return o.kind === 'failed' && o.status !== 404 ? result({ status: o.status, reason: o.reason, header: () => undefined }) : OK;
    }
    case 'receipt':
    case 'delete':
    case 'profile-request':
    case 'profile-response':
      return OK;
  }
}

async function sendText(ua: UserAgent, from: string, to: string, env: Envelope, text: RichText, d: OutboundDeps): Promise<DeliveryResult> {
  const plain = toPlainText(text);
  if (plain.length === 0) return rejected('empty message');
  const body = d.html && isRich(text) ? { type: 'text/html;charset=UTF-8', content: richTextToHtml(text) } : { type: 'text/plain;charset=UTF-8', content: plain };
  const headers = env.chatId ? [`X-Parley-Chat: ${env.chatId.replace(/[^\x21-\x7e]/g, '').slice(0, 200)}`] : [];
  const res = await sendRequest(ua, { method: 'MESSAGE', target: to, from, ...(env.from.name ? { fromName: env.from.name } : {}), headers, body }, d.timeoutMs);
  return result(res);
}
