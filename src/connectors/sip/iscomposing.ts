/** RFC 3994 is-composing indications. */
export const ISCOMPOSING_TYPE = 'application/im-iscomposing+xml';

export function buildIsComposing(active: boolean, refreshSeconds = 60): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\r\n' +
    '<isComposing xmlns="urn:ietf:params:xml:ns:im-iscomposing">' +
    `<state>${active ? 'active' : 'idle'}</state>` +
    (active ? `<contenttype>text/plain</contenttype><refresh>${refreshSeconds}</refresh>` : '') +
    '</isComposing>'
  );
}

/** 'active' | 'idle', or undefined when the document is not an is-composing indication. */
export function parseIsComposing(xml: string): 'active' | 'idle' | undefined {
  if (xml.length > 8 * 1024) return undefined;
  const state = /<(?:[a-zA-Z0-9_-]+:)?state\s*>\s*(active|idle)\s*</.exec(xml)?.[1];
  return state === 'active' || state === 'idle' ? state : undefined;
}
