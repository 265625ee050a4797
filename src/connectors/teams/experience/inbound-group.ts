import type { Address } from '../../../core/address.ts';
import type { Envelope } from '../../../core/envelope.ts';
import type { ReadMessage } from './activity-read.ts';
import { displayAddress, parseAddress } from './addresses.ts';
import { PLATFORM_LABEL, who } from './cards.ts';
import { parseCommand } from './commands.ts';
import { roomAddress } from './context.ts';
import { activityEnvelopeId } from './ids.ts';
import { esc, failed, failureText, GROUP_HELP, say } from './replies.ts';
import { excerptOf, sendFiles, whoList, type Turn } from './turn.ts';

/**
 * Where a bridged chat's messages go: XMPP members through the chat's one
 * room (when the room service is configured), everyone else one by one.
 */
export function recipientsOf(t: Turn, members: readonly Address[]): Address[] {
  const room = t.chatId ? roomAddress(t.ctx, t.chatId) : undefined;
  if (!room) return [...members];
  const others = members.filter((m) => m.platform !== 'xmpp');
  return members.some((m) => m.platform === 'xmpp') ? [room, ...others] : others;
}

function roomName(t: Turn): string | undefined {
  const cd = t.a.channelData as { channel?: { name?: unknown }; team?: { name?: unknown } } | undefined;
  const parts = [cd?.team?.name, cd?.channel?.name, t.a.conversation.name].filter((s): s is string => typeof s === 'string' && s.length > 0);
  const name = [...new Set(parts)].join(' / ');
  return name ? name.slice(0, 256) : undefined;
}

export async function handleGroupMessage(t: Turn, m: ReadMessage): Promise<void> {
  const { ctx, a, me, plan } = t;
  const chatId = t.chatId as string;
  const cmd = parseCommand(m.text, 'group');
  if (cmd.kind === 'help') return plan.reply(say(GROUP_HELP));
  if (cmd.kind === 'bad' || (cmd.kind !== 'invite' && cmd.kind !== 'message')) return plan.reply(say(`${esc(cmd.kind === 'bad' ? cmd.reason : 'not a command here')}. Type <code>help</code>.`));
  if (cmd.kind === 'invite') {
    const p = parseAddress(cmd.address, ctx.rules);
    if (!p.ok) return plan.reply(say(`${esc(p.reason)}.`));
    const peer = p.address;
    const added = await ctx.store.addToBridge(chatId, peer);
    if (added === 'full') return plan.reply(say('This conversation already bridges as many people as Parley allows.'));
    const name = roomName(t);
    const env: Envelope = { type: 'invite', id: activityEnvelopeId('t', a.conversation.id, a.id ?? String(t.now)), ts: t.now, from: me, to: peer, chatId, room: { id: chatId, ...(name ? { name } : {}) }, ...(cmd.reason ? { reason: cmd.reason } : {}) };
    return plan.send([env], ([ack]) => {
      if (failed(ack)) {
        if (added === 'added') void ctx.store.dropFromBridge(chatId, peer).catch(() => undefined);
        return say(`Could not invite ${esc(displayAddress(peer))}: ${esc(failureText(ack))}.`);
      }
      const how = peer.platform === 'xmpp' && ctx.roomsDomain ? 'They join through an XMPP group chat room.' : `They get the messages here as ${PLATFORM_LABEL[peer.platform] ?? peer.platform} messages.`;
      return say(`Invited <b>${esc(who(peer))}</b> to this conversation. ${esc(how)} Messages to Parley here now reach them.`);
    });
  }
  const members = await ctx.store.bridge(chatId);
  if (members.length === 0) {
    if (m.mentionsBot) plan.reply(say('Nobody from outside Teams is in this conversation yet: <code>invite user@domain</code> brings someone in.'));
    return;
  }
  const to = recipientsOf(t, members);
  const actId = a.id ?? String(t.now);
  const envs: Envelope[] = [];
  if (m.body.blocks.length > 0) {
    to.forEach((x, i) => envs.push({ type: 'im', id: activityEnvelopeId('t', a.conversation.id, actId, i === 0 ? undefined : `~${i}`), ts: t.now, from: me, to: x, chatId, body: m.body }));
  }
  const files = await sendFiles(t, m, to);
  envs.push(...files.envs);
  for (const r of files.refusals) plan.reply(say(esc(r)));
  if (m.unsupported.length) plan.reply(say(`Not forwarded (Parley cannot carry these yet): ${esc(m.unsupported.join(', '))}.`));
  if (envs.length === 0) return;
  await ctx.store.recordOut(t.conversation, actId, envs.filter((e) => e.type === 'im').map((e) => ({ to: e.to, id: e.id })), excerptOf(m.body));
  plan.send(envs, (acks) => {
    const bad = envs.filter((_, i) => failed(acks[i]));
    if (bad.length === 0) return undefined;
    const firstBad = acks.find((k) => failed(k));
    return say(`Your message did not reach ${esc(whoList(bad.map((e) => e.to)))}: ${esc(failureText(firstBad))}.`);
  });
}
