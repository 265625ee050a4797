import type { Activity, Attachment } from 'botbuilder';
import type { IngestAck } from '../../../core/connector.ts';
import type { Envelope } from '../../../core/envelope.ts';
import type { TurnPlan } from '../contract.ts';
import { escapeHtml } from '../../../core/richtext-html.ts';

/** Bot messages: HTML (`textFormat: xml`) built from escaped parts, and cards. */
export function say(html: string): Partial<Activity> {
  return { type: 'message', textFormat: 'xml', text: html };
}

export function showCard(card: Attachment): Partial<Activity> {
  return { type: 'message', attachments: [card] };
}

export const esc = escapeHtml;

export const PERSONAL_HELP = [
  '<b>Parley</b> connects you with people on other platforms (XMPP, SIP).',
  '<ul>',
  '<li><code>add user@domain [message]</code>: send a contact request (<code>xmpp:</code> or <code>sip:</code> in front picks the platform)</li>',
  '<li><code>contacts</code>: your contacts, their presence and status</li>',
  '<li><code>profile user@domain</code>: someone\'s profile</li>',
  '<li><code>chat user@domain</code> (or a contact\'s name): who your messages here go to</li>',
  '<li><code>@name message</code>: send one message to someone else</li>',
  '<li>Reply to (quote) a message to answer its sender</li>',
  '<li><code>status available|away|dnd|offline [text]</code>: what your contacts see</li>',
  '<li><code>remove user@domain</code>: remove a contact</li>',
  '</ul>',
  'Every message from a contact shows who sent it. Start a line with <code>/</code> to make it a command.',
].join('');

export const GROUP_HELP = [
  '<b>Parley</b> brings people from other platforms (XMPP, SIP) into this conversation.',
  '<ul>',
  '<li><code>invite user@domain [reason]</code>: invite someone; what is said here to Parley then reaches them, and what they say shows here</li>',
  '</ul>',
  'In a channel, mention Parley in each message that should reach them, unless the app may read all channel messages.',
].join('');

export function failureText(ack: IngestAck | undefined): string {
  if (!ack) return 'Parley could not tell whether it was sent';
  const why = ack.error?.message ?? ack.outcome;
  if (ack.outcome === 'blocked') return `blocked by your organisation's federation policy (${why})`;
  if (ack.error?.retryable) return `Parley is busy (${why}); please try again in a moment`;
  return `Parley refused it (${why})`;
}

export const failed = (ack: IngestAck | undefined): boolean => !ack || ack.outcome === 'blocked' || ack.outcome === 'rejected';

type Note = (acks: readonly (IngestAck | undefined)[]) => Partial<Activity> | undefined;

/** Collects a turn's envelopes and the replies that depend on how they were acknowledged. */
export class PlanBuilder {
  readonly envelopes: Envelope[] = [];
  private readonly items: Array<{ first: number; count: number; note: Note }> = [];
  conversationKey: string | undefined;
  invokeResponse: TurnPlan['invokeResponse'];

  reply(a: Partial<Activity>): void {
    this.items.push({ first: 0, count: 0, note: () => a });
  }

  /** Queues envelopes; `note` sees their acks, in order, and may answer. */
  send(envs: readonly Envelope[], note?: Note): void {
    this.items.push({ first: this.envelopes.length, count: envs.length, note: note ?? (() => undefined) });
    this.envelopes.push(...envs);
  }

  build(): TurnPlan {
    const items = this.items;
    const plan: TurnPlan = {
      envelopes: this.envelopes,
      replies(acks) {
        const out: Partial<Activity>[] = [];
        for (const it of items) {
          const r = it.note(Array.from({ length: it.count }, (_, i) => acks[it.first + i]));
          if (r) out.push(r);
        }
        return out;
      },
    };
    if (this.conversationKey) plan.conversationKey = this.conversationKey;
    if (this.invokeResponse) plan.invokeResponse = this.invokeResponse;
    return plan;
  }
}
