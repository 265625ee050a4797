import { createHash } from 'node:crypto';
import type { Activity } from 'botbuilder';
import type { IngestAck } from '../../src/core/connector.ts';
import type { Envelope } from '../../src/core/envelope.ts';
import { fromPlainText, toPlainText } from '../../src/core/richtext.ts';
import type { InboundTurn, OutboundPlan, TeamsExperience, TurnPlan } from '../../src/connectors/teams/contract.ts';

/**
 * A stand-in for the real Teams experience, for transport tests: a message
 * `to <user@domain>: text` (or any text, to ext1@partner.example) becomes an
 * im envelope from the Teams user; the reply echoes the text and the ack.
 * Envelopes to Teams users render as plain text into their personal chat;
 * edits and deletes replace the earlier send.
 */
export interface TestExperienceOptions {
  /** Echo a reply for each message (default true). */
  replies?: boolean;
  /** Look the sender up through TeamsInfo (a Bot Connector call) and name them in the reply. */
  lookupMember?: boolean;
  /** Delay before handle() answers (simulates a slow experience). */
  delayMs?: number;
}

export function localIdOf(activity: Readonly<Partial<Activity>>): string {
  const raw = activity.from?.aadObjectId ?? activity.from?.id ?? 'anonymous';
  return `u${createHash('sha256').update(raw).digest('hex').slice(0, 12)}`;
}

export class TestTeamsExperience implements TeamsExperience {
  readonly turns: Array<Readonly<Partial<Activity>>> = [];
  readonly sentIds = new Map<string, string>();
  readonly recorded: Array<{ envId: string; activityId: string }> = [];
  /** Delay before handle() answers; may be changed between requests. */
  delayMs: number;
  /** Look the sender up (TeamsInfo) and name them in the reply; may be changed between requests. */
  lookupMember: boolean;
  constructor(private readonly opts: TestExperienceOptions = {}) {
    this.delayMs = opts.delayMs ?? 0;
    this.lookupMember = opts.lookupMember ?? false;
  }

  async handle(turn: InboundTurn): Promise<TurnPlan> {
    const a = turn.activity;
    this.turns.push(a);
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    const local = localIdOf(a);
    const conversationKey = a.conversation?.conversationType === 'personal' || !a.conversation?.conversationType ? `user:${local}` : `chat:${a.conversation.id}`;
    if (a.type === 'invoke') {
      const value = { statusCode: 200, type: 'application/vnd.microsoft.activity.message', value: `invoked ${a.name ?? ''}` };
      return { envelopes: [], replies: () => [], conversationKey, invokeResponse: { status: 200, body: value } };
    }
    if (a.type !== 'message' || typeof a.text !== 'string' || a.text.trim() === '') {
      return { envelopes: [], replies: () => [], conversationKey };
    }
    const m = /^to ([^\s:@]+)@([a-z0-9.-]+):\s*(.*)$/s.exec(a.text.trim());
    const [user, domain, body] = m ? [m[1] as string, m[2] as string, m[3] as string] : ['ext1', 'partner.example', a.text];
    const env: Envelope = {
      type: 'im',
      id: `teams:${a.id ?? createHash('sha256').update(JSON.stringify(a)).digest('hex')}`,
      ts: Date.now(),
      from: { platform: 'teams', id: `${local}@parley.local`, domain: 'parley.local', name: a.from?.name ?? 'Teams user' },
      to: { platform: 'xmpp', id: `${user}@${domain}`, domain },
      body: fromPlainText(body),
    };
    const member = this.lookupMember ? await turn.member() : undefined;
    return {
      envelopes: [env],
      conversationKey,
      replies: (acks: readonly IngestAck[]) =>
        this.opts.replies === false ? [] : [{ type: 'message', text: `echo${member?.name ? ` to ${member.name}` : ''}: ${body} (${acks[0]?.outcome ?? 'no ack'})` }],
    };
  }

  async render(env: Envelope): Promise<OutboundPlan | undefined> {
    if (env.to.platform !== 'teams') return undefined;
    const conversation = `user:${env.to.id.split('@')[0]}`;
    const who = env.from.name ?? env.from.id;
    switch (env.type) {
      case 'im':
        return { conversation, activity: { type: 'message', text: `${who}: ${toPlainText(env.body)}` } };
      case 'edit': {
        const activityId = this.sentIds.get(env.target);
        return activityId ? { conversation, activity: { type: 'message', text: `${who}: ${toPlainText(env.body)}` }, replaces: { activityId, op: 'update' } } : undefined;
      }
      case 'delete': {
        const activityId = this.sentIds.get(env.target);
        return activityId ? { conversation, activity: { type: 'message' }, replaces: { activityId, op: 'delete' } } : undefined;
      }
      case 'error':
        return { conversation, activity: { type: 'message', text: `Parley: ${env.message}` } };
      default:
        return undefined;
    }
  }

  async recordSent(env: Envelope, _plan: OutboundPlan, activityId: string): Promise<void> {
    this.sentIds.set(env.id, activityId);
    this.recorded.push({ envId: env.id, activityId });
  }

  routes(): [] {
    return [];
  }
}
