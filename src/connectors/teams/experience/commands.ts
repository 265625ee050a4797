import type { RichText } from '../../../core/richtext.ts';

/**
 * The bot's commands. A line is a command only when it has the command's
 * exact form (`add` and one address, `status` and a known state, ...), or when
 * it starts with `/`; anything else is a message to the current contact. So
 * "add milk to the list" is a message, `/add milk` is a (bad) command.
 */
export const SHOWS = ['available', 'away', 'dnd', 'offline'] as const;
export type Show = (typeof SHOWS)[number];

export type Command =
  | { kind: 'help' }
  | { kind: 'add'; address: string; message?: string }
  | { kind: 'remove'; address: string }
  | { kind: 'contacts' }
  | { kind: 'profile'; address: string }
  | { kind: 'chat'; target: string }
  | { kind: 'status'; show: Show; text?: string }
  | { kind: 'invite'; address: string; reason?: string }
  /** `@name text`: one message to `target`; `offset` is where the text starts in the line. */
  | { kind: 'once'; target: string; offset: number }
  | { kind: 'message' }
  /** A `/command` that does not parse, or an unknown `/word`. */
  | { kind: 'bad'; reason: string };

export type ChatKind = 'personal' | 'group';

const SHOW_ALIASES: Record<string, Show> = { available: 'available', online: 'available', away: 'away', busy: 'dnd', dnd: 'dnd', offline: 'offline', invisible: 'offline' };
const PERSONAL = new Set(['help', 'add', 'remove', 'contacts', 'profile', 'chat', 'status']);
const GROUP = new Set(['help', 'invite']);

export function parseCommand(line: string, chat: ChatKind): Command {
  const text = line.trim();
  const forced = text.startsWith('/');
  const body = forced ? text.slice(1) : text;
  const m = /^(\S+)(?:\s+([\s\S]*))?$/.exec(body);
  const word = (m?.[1] ?? '').toLowerCase();
  const rest = (m?.[2] ?? '').trim();
  const args = rest ? rest.split(/\s+/) : [];
  const known = chat === 'personal' ? PERSONAL : GROUP;

  if (chat === 'personal' && !forced && text.startsWith('@')) {
    const at = /^@(\S+)\s+(\S[\s\S]*)$/.exec(text);
    if (at) return { kind: 'once', target: at[1] ?? '', offset: text.length - (at[2] ?? '').length + (line.length - line.trimStart().length) };
    return { kind: 'bad', reason: 'write `@name` followed by the message, e.g. `@bob hello`' };
  }
  if (!known.has(word)) {
    if (forced) return { kind: 'bad', reason: `unknown command "/${word.slice(0, 40)}"` };
    if (text === '?') return { kind: 'help' };
    return { kind: 'message' };
  }
  // One word after a command word is a command attempt; a longer line that does not fit is a message.
  const bad = (reason: string): Command => (forced || args.length <= 1 ? { kind: 'bad', reason } : { kind: 'message' });
  switch (word) {
    case 'help':
      return args.length === 0 ? { kind: 'help' } : forced ? { kind: 'help' } : { kind: 'message' };
    case 'contacts':
      return args.length === 0 ? { kind: 'contacts' } : bad('`contacts` takes no arguments');
    case 'add': {
      const address = args[0] ?? '';
      if (!looksLikeAddress(address)) return bad('write `add user@domain` (or `add xmpp:user@domain`, `add sip:user@domain`)');
      const message = args.slice(1).join(' ');
      return message ? { kind: 'add', address, message } : { kind: 'add', address };
    }
    case 'remove':
    case 'profile': {
      const address = args[0] ?? '';
      if (args.length !== 1 || !looksLikeAddress(address)) return bad(`write \`${word} user@domain\``);
      return word === 'remove' ? { kind: 'remove', address } : { kind: 'profile', address };
    }
    case 'chat':
      if (args.length !== 1) return bad('write `chat user@domain` or `chat <contact name>`');
      return { kind: 'chat', target: (args[0] ?? '').replace(/^@/, '') };
    case 'status': {
      const show = SHOW_ALIASES[(args[0] ?? '').toLowerCase()];
      if (!show) return bad('write `status available|away|dnd|offline [text]`');
      const statusText = rest.slice((args[0] ?? '').length).trim().slice(0, 1024);
      return statusText ? { kind: 'status', show, text: statusText } : { kind: 'status', show };
    }
    case 'invite': {
      const address = args[0] ?? '';
      if (!looksLikeAddress(address)) return bad('write `invite user@domain [reason]`');
      const reason = args.slice(1).join(' ').slice(0, 1024);
      return reason ? { kind: 'invite', address, reason } : { kind: 'invite', address };
    }
  }
  return { kind: 'message' };
}

function looksLikeAddress(s: string): boolean {
  return /^<?(?:(?:xmpp|sips?|mailto):)?[^\s@]+@[^\s@]+>?$/i.test(s);
}

/**
 * The rich text after the first `chars` characters of its plain-text form,
 * when those lie in the first paragraph's leading text; undefined otherwise.
 */
export function dropLeadingChars(rt: RichText, chars: number): RichText | undefined {
  const first = rt.blocks[0];
  if (!first || first.t !== 'p') return undefined;
  let left = chars;
  const c = [...first.c];
  while (left > 0 && c.length > 0) {
    const n = c[0];
    if (!n || n.t !== 'text') return undefined;
    if (n.v.length <= left) {
      left -= n.v.length;
      c.shift();
    } else {
      c[0] = { ...n, v: n.v.slice(left) };
      left = 0;
    }
  }
  if (left > 0) return undefined;
  const head = c[0];
  if (head?.t === 'text') c[0] = { ...head, v: head.v.replace(/^\s+/, '') };
  if (c[0]?.t === 'text' && c[0].v === '') c.shift();
  const blocks = c.length > 0 ? [{ t: 'p' as const, c }, ...rt.blocks.slice(1)] : rt.blocks.slice(1);
  return { blocks };
}
