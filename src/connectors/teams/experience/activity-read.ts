import type { Activity } from 'botbuilder';
import { fromPlainText, toPlainText, type RichText } from '../../../core/richtext.ts';
import { htmlToRichText } from './html.ts';

/** Reading what a Teams message activity carries: text, quote, files, reactions. */
export const FILE_DOWNLOAD_INFO = 'application/vnd.microsoft.teams.file.download.info';

export interface TeamsFile {
  name: string;
  downloadUrl: string;
  mime: string;
  size: number;
}

export interface ReadMessage {
  body: RichText;
  /** The body as one line of plain text, for commands. */
  text: string;
  /** Activity id of the quoted message (reply-by-quote). */
  quotedId?: string;
  mentionsBot: boolean;
  files: TeamsFile[];
  /** Attachments that cannot be carried (inline images, cards, ...), by kind. */
  unsupported: string[];
  truncated: boolean;
}

const REPLY_QUOTE = /<blockquote\b[^>]*itemtype\s*=\s*["']http:\/\/schema\.skype\.com\/Reply["'][^>]*>[\s\S]*?<\/blockquote>/i;
const QUOTED_PLACEHOLDER = /<quoted\b[^>]*messageId\s*=\s*["']([^"']{1,128})["'][^>]*\/?>(?:\s*<\/quoted>)?/i;
const MAX_FILES = 10;

const MIME_BY_EXT: Record<string, string> = {
  txt: 'text/plain', pdf: 'application/pdf', png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  zip: 'application/zip', csv: 'text/csv', json: 'application/json', mp4: 'video/mp4', mp3: 'audio/mpeg',
};

function str(v: unknown, max: number): string | undefined {
  return typeof v === 'string' && v.length > 0 && v.length <= max ? v : undefined;
}

/** The mention entities that name the bot, as they appear in the text (`<at>Parley</at>`). */
function botMentions(a: Readonly<Activity>): string[] {
  const out: string[] = [];
  for (const e of a.entities ?? []) {
    const m = e as { type?: unknown; mentioned?: { id?: unknown } | null; text?: unknown } | null;
    if (m?.type === 'mention' && m.mentioned?.id === a.recipient?.id && typeof m.text === 'string' && m.text.length < 512) out.push(m.text);
  }
  return out;
}

function quotedFromEntities(a: Readonly<Activity>): string | undefined {
  for (const e of a.entities ?? []) {
    const q = e as { type?: unknown; quotedReply?: { messageId?: unknown } | null } | null;
    if (q?.type === 'quotedReply') return str(q.quotedReply?.messageId, 128);
  }
  return undefined;
}

export function readMessage(a: Readonly<Activity>, personal: boolean): ReadMessage {
  const atts = Array.isArray(a.attachments) ? a.attachments : [];
  const htmlAtt = atts.find((x) => x?.contentType === 'text/html' && typeof x.content === 'string');
  const raw = typeof htmlAtt?.content === 'string' ? htmlAtt.content : typeof a.text === 'string' ? a.text : '';
  const mentions = botMentions(a);
  let mentionsBot = false;
  let source = raw;
  for (const m of mentions) {
    if (source.includes(m)) {
      mentionsBot = true;
      source = source.split(m).join(' ');
    }
  }
  let quotedId: string | undefined;
  const quote = REPLY_QUOTE.exec(source);
  if (quote) {
    quotedId = /itemid\s*=\s*["']([^"']{1,128})["']/i.exec(quote[0])?.[1];
    source = source.replace(REPLY_QUOTE, ' ');
  }
  const placeholder = QUOTED_PLACEHOLDER.exec(source);
  if (placeholder) {
    quotedId ??= placeholder[1];
    source = source.replace(QUOTED_PLACEHOLDER, ' ');
  }
  quotedId ??= quotedFromEntities(a);
  if (!quotedId && personal) quotedId = str(a.replyToId, 128);

  const isHtml = htmlAtt !== undefined || a.textFormat === 'xml' || /<\/?[a-z][a-z0-9]*[\s/>]/i.test(source);
  const parsed = isHtml ? htmlToRichText(source) : { body: fromPlainText(source.trim().slice(0, 64 * 1024)), truncated: source.length > 64 * 1024 };
  // Empty paragraphs (a file sent without text) are no message.
  const body: RichText = { blocks: parsed.body.blocks.filter((b) => !(b.t === 'p' && b.c.length === 0)) };
  const text = toPlainText(body).replace(/\s+/g, ' ').trim();

  const files: TeamsFile[] = [];
  const unsupported: string[] = [];
  for (const att of atts.slice(0, 50)) {
    const type = att?.contentType;
    if (type === 'text/html') continue;
    if (type === FILE_DOWNLOAD_INFO) {
      const c = att.content as { downloadUrl?: unknown; fileType?: unknown; size?: unknown } | undefined;
      const url = str(c?.downloadUrl, 4096);
      const name = str(att.name, 512) ?? 'file';
      if (!url || files.length >= MAX_FILES) {
        unsupported.push(`file ${name}`);
        continue;
      }
      const ext = (str(c?.fileType, 16) ?? name.split('.').pop() ?? '').toLowerCase();
      const size = typeof c?.size === 'number' && Number.isInteger(c.size) && c.size >= 0 ? c.size : 0;
      files.push({ name, downloadUrl: url, mime: MIME_BY_EXT[ext] ?? 'application/octet-stream', size });
      continue;
    }
    if (typeof type === 'string' && type.startsWith('image/')) unsupported.push('pasted image');
    else if (type === 'application/vnd.microsoft.card.adaptive') unsupported.push('card');
    else unsupported.push(typeof type === 'string' ? type.slice(0, 80) : 'attachment');
  }
  return { body, text, ...(quotedId ? { quotedId } : {}), mentionsBot, files, unsupported, truncated: parsed.truncated };
}

const NAMED_REACTIONS: Record<string, string> = { like: '👍', heart: '❤️', laugh: '😆', surprised: '😮', sad: '😢', angry: '😠', plusone: '👍' };

/** Teams reaction type -> emoji: the six classic names, or `1f440_eyes`-style code points. */
export function reactionEmoji(type: string): string {
  const named = NAMED_REACTIONS[type.toLowerCase()];
  if (named) return named;
  const m = /^([0-9a-f]{4,6}(?:-[0-9a-f]{4,6}){0,7})(?:_|$)/i.exec(type);
  if (m?.[1]) {
    try {
      return String.fromCodePoint(...m[1].split('-').map((h) => parseInt(h, 16)));
    } catch {
      // falls through to the name
    }
  }
  return `:${type.replace(/[^a-z0-9_-]/gi, '').slice(0, 60) || 'reaction'}:`;
}

export function isPersonal(a: Readonly<Activity>): boolean {
  const t = a.conversation?.conversationType;
  return t ? t === 'personal' : a.conversation?.isGroup !== true;
}
