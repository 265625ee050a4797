import { PRESENCE_SHOWS } from '../../core/envelope.ts';
import { escapeHtml } from './content.ts';

export type Show = (typeof PRESENCE_SHOWS)[number];

/** PIDF (RFC 3863) with RPID activities (RFC 4480) for away and busy. */
export function buildPidf(entity: string, show: Show, note: string | undefined): string {
  const basic = show === 'offline' ? 'closed' : 'open';
  const activity = show === 'away' || show === 'xa' ? '<rpid:away/>' : show === 'dnd' ? '<rpid:busy/>' : '';
  const n = note ? `<note>${escapeHtml(note.slice(0, 1024))}</note>` : '';
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\r\n' +
    `<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="${escapeHtml(entity)}">` +
    `<tuple id="parley"><status><basic>${basic}</basic></status>${n}</tuple>` +
    (activity ? `<dm:person id="p"><rpid:activities>${activity}</rpid:activities></dm:person>` : '') +
    '</presence>'
  );
}

const unxml = (s: string): string =>
  s.replace(/&(lt|gt|amp|quot|apos|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});/g, (_, e: string) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : '';
    }
    return ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" } as Record<string, string>)[e] ?? '';
  });

/** The show and note a PIDF document says, or undefined when it is not PIDF. Namespace prefixes are ignored. */
export function parsePidf(xml: string): { show: Show; status?: string } | undefined {
  if (xml.length > 64 * 1024 || !/<([a-zA-Z0-9_-]+:)?presence[\s>]/.test(xml)) return undefined;
  const basics = [...xml.matchAll(/<(?:[a-zA-Z0-9_-]+:)?basic\s*>\s*(open|closed)\s*</g)].map((m) => m[1]);
  const open = basics.includes('open');
  const acts = /<(?:[a-zA-Z0-9_-]+:)?activities[^>]*>([\s\S]{0,2000}?)<\/(?:[a-zA-Z0-9_-]+:)?activities>/.exec(xml)?.[1] ?? '';
  const has = (name: string): boolean => new RegExp(`<(?:[a-zA-Z0-9_-]+:)?${name}\\b`).test(acts);
  let show: Show = open ? 'available' : 'offline';
  if (open && (has('busy') || has('on-the-phone') || has('meeting') || has('performance') || has('presentation'))) show = 'dnd';
  else if (open && (has('away') || has('vacation') || has('sleeping') || has('steering'))) show = has('vacation') ? 'xa' : 'away';
  const note = /<(?:[a-zA-Z0-9_-]+:)?note(?:\s[^>]*)?>([\s\S]{0,4096}?)<\/(?:[a-zA-Z0-9_-]+:)?note>/.exec(xml)?.[1];
  const status = note !== undefined ? unxml(note).trim().slice(0, 1024) : undefined;
  return status ? { show, status } : { show };
}
