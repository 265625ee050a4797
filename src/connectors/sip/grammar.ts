import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Grammar, NameAddrHeader, URI } from 'sip.js';

/**
 * sip.js's parser, fixed: its generated grammar (peggy) rebuilds the whole
 * bytecode and constant tables (~230 decoded rule programs, ~800 constants,
 * closures and regular expressions) on every call, and sip.js calls it
 * several times per SIP message (first line, Via, From, To, Contact, ...).
 *
 * This module builds the same grammar source once into a parser factory
 * whose tables live as long as the parser, and keeps a small pool of parsers
 * (one per nesting level, as actions may parse again). Nothing in
 * node_modules is modified: the source is read, rewritten in memory,
 * checked against the stock parser on sample inputs, and installed by
 * replacing `Grammar.parse`, through which every sip.js caller goes. If the
 * source does not have the expected shape (another sip.js version), the
 * stock parser stays and `installCachedGrammar` says why.
 */
type ParseFn = (input: string, options?: { startRule?: string; data?: unknown }) => unknown;
type GrammarParse = typeof Grammar.parse;

const stockParse: GrammarParse = Grammar.parse;
let cachedParse: GrammarParse | undefined;
let failure: string | undefined;

function grammarSource(): string {
  const require = createRequire(import.meta.url);
  const main = require.resolve('sip.js');
  return readFileSync(path.join(path.dirname(main), 'grammar', 'pegjs', 'dist', 'grammar.js'), 'utf8');
}

function replaceOnce(src: string, find: string | RegExp, by: string, what: string): string {
  const count = typeof find === 'string' ? src.split(find).length - 1 : (src.match(new RegExp(find.source, `${find.flags.replace('g', '')}g`)) ?? []).length;
  if (count !== 1) throw new Error(`grammar source: expected one ${what}, found ${count}`);
  return src.replace(find, by);
}

/** The rewritten grammar module as the body of a function (URI, NameAddrHeader) => parse. */
export function rewriteGrammar(src: string): string {
  let s = src;
  s = replaceOnce(s, /^import \{ NameAddrHeader \} from "[^"]+";\n/m, '', 'NameAddrHeader import');
  s = replaceOnce(s, /^import \{ URI \} from "[^"]+";\n/m, '', 'URI import');
  if (/^import /m.test(s)) throw new Error('grammar source: unexpected import');
  s = replaceOnce(s, 'export class SyntaxError', 'class SyntaxError', 'SyntaxError class');
  s = replaceOnce(s, /^export const parse = peg\$parse;\s*$/m, '', 'parse export');
  s = replaceOnce(
    s,
    /function peg\$parse\(input, options\) \{\n\s*options = options !== undefined \? options : \{\};\n(\s*)const peg\$FAILED = \{\};\n\s*const peg\$source = options\.grammarSource;\n/,
    'function peg$makeParser() {\n$1let input;\n$1let options;\n$1const peg$FAILED = {};\n$1let peg$source;\n',
    'parser prologue',
  );
  s = replaceOnce(s, 'const peg$posDetailsCache = [{ line: 1, column: 1 }];', 'let peg$posDetailsCache = [{ line: 1, column: 1 }];', 'position cache');
  const startCheck = /\n(\s*)if \(options\.startRule !== undefined\) \{\n\s*if \(!\(options\.startRule in peg\$startRuleIndices\)\) \{\n[^\n]*\n\s*\}\n\s*peg\$startRuleIndex = peg\$startRuleIndices\[options\.startRule\];\n\s*\}\n/;
  const startBlock = startCheck.exec(s)?.[0];
  if (!startBlock) throw new Error('grammar source: start rule check not found');
  s = replaceOnce(s, startCheck, '\n', 'start rule check');
  const tail = /\n(\s*)options\.data = \{\};[^\n]*\n(\s*function list\(head, tail\) \{\n\s*return \[head\]\.concat\(tail\);\n\s*\}\n)([\s\S]*)\n\}\s*$/;
  const m = tail.exec(s);
  if (!m) throw new Error('grammar source: parser epilogue not found');
  const [, indent, listFn, run] = m as unknown as [string, string, string, string];
  s = s.slice(0, m.index) + '\n' + listFn +
    `${indent}return function peg$run(input_, options_) {\n` +
    `${indent}input = input_;\n${indent}options = options_ !== undefined ? options_ : {};\n` +
    `${indent}peg$source = options.grammarSource;\n${indent}peg$startRuleIndex = ${/let peg\$startRuleIndex = (\d+);/.exec(s)?.[1] ?? 'undefined'};\n` +
    `${indent}peg$currPos = 0; peg$savedPos = 0; peg$posDetailsCache = [{ line: 1, column: 1 }];\n` +
    `${indent}peg$maxFailPos = 0; peg$maxFailExpected = []; peg$silentFails = 0; peg$result = undefined;\n` +
    `${startBlock}${indent}options.data = {};\n${indent}try {\n${run}\n${indent}} finally {\n${indent}input = undefined;\n${indent}options = undefined;\n${indent}}\n${indent}};\n}\n` +
    'const peg$idle = [];\n' +
    'return function peg$parse(input, options) {\n' +
    '  const p = peg$idle.length > 0 ? peg$idle.pop() : peg$makeParser();\n' +
    '  try { return p(input, options); } finally { if (peg$idle.length < 8) peg$idle.push(p); }\n' +
    '};\n';
  return s;
}

const WORD = "[A-Za-z0-9\\-.!%*_+`'~()<>:\\\\\"/\\[\\]?{}]+";
const CALL_ID = new RegExp(`^${WORD}(@${WORD})?$`);
const TOKEN = "[A-Za-z0-9!%*_+`'~.\\-]+";
const CONTENT_TYPE = new RegExp(`^${TOKEN}/${TOKEN}([ \\t]*;[ \\t]*${TOKEN}=${TOKEN})*$`);

/**
 * Exact answers for the simple header shapes every message carries, without
 * the interpreter; anything else (or any doubt) goes to the grammar. Checked
 * against the stock parser (SAMPLES, at install, and test/sip/fast-message.test.ts).
 */
const FAST: Record<string, (input: string) => unknown> = {
  Call_ID: (v) => (v.length <= 256 && CALL_ID.test(v) ? v : undefined),
  Content_Length: (v) => (/^[0-9]{1,9}$/.test(v) ? Number.parseInt(v, 10) : undefined),
  Max_Forwards: (v) => (/^[0-9]{1,9}$/.test(v) ? Number.parseInt(v, 10) : undefined),
  CSeq: (v) => {
    const m = /^([0-9]{1,9})[ \t]+([A-Z]{3,12})$/.exec(v);
    return m ? { value: Number.parseInt(m[1] as string, 10), method: m[2] } : undefined;
  },
  Content_Type: (v) => (v.length <= 256 && CONTENT_TYPE.test(v) ? v : undefined),
  Request_Response: (v) => {
    const m = /^SIP\/2\.0 ([1-6][0-9][0-9]) ([A-Za-z][A-Za-z ]{0,60})$/.exec(v);
    if (m) return { sip_version: 'SIP/2.0', status_code: Number.parseInt(m[1] as string, 10), reason_phrase: m[2] };
    const r = /^([A-Z]{3,12}) sip:([A-Za-z0-9_.+-]{1,64})@([a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63}){0,8})(?::([1-9][0-9]{0,4}))?(?:;transport=(ws|udp|tcp))? SIP\/2\.0$/.exec(v);
    if (!r) return undefined;
    const params = r[5] ? { transport: r[5] } : undefined;
    return { method: r[1], uri: new URI('sip', r[2] as string, r[3] as string, r[4] ? Number.parseInt(r[4], 10) : undefined, params), sip_version: 'SIP/2.0' };
  },
  From: nameAddr,
  To: nameAddr,
  Via: (v) => {
    const m = VIA_BRANCH.exec(v);
    if (!m) return undefined;
    const via: Record<string, unknown> = { protocol: 'SIP', transport: m[1], host_type: 'IPv4', host: m[2] };
    if (m[3]) via.port = Number.parseInt(m[3], 10);
    via.branch = m[4];
    return via;
  },
};

const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])';
/** A top Via as the edge writes it, `SIP/2.0/WS 127.0.0.1:port;branch=...` and nothing else. Groups: transport, host, port, branch. */
export const VIA_BRANCH = new RegExp(`^SIP/2\\.0/(WS|WSS|UDP|TCP|TLS)[ \\t]+(${OCTET}(?:\\.${OCTET}){3})(?::([1-9][0-9]{0,4}))?;branch=(${TOKEN})$`);

/** `<sip:user@host[:port]>[;tag=...]`, the shape Kamailio and sipp send. Groups: user, host, port, tag. */
export const NAME_ADDR = /^<sip:([A-Za-z0-9_.+-]{1,64})@([a-z0-9-]{1,63}(?:\.[a-z0-9-]{1,63}){0,8})(?::([1-9][0-9]{0,4}))?>(?:;tag=([A-Za-z0-9_.+-]{1,64}))?$/;

/** A name-addr of NAME_ADDR's shape, as the grammar would build it. */
function nameAddr(v: string): unknown {
  const m = NAME_ADDR.exec(v);
  if (!m) return undefined;
  const h = new NameAddrHeader(new URI('sip', m[1] as string, m[2] as string, m[3] ? Number.parseInt(m[3], 10) : undefined), undefined as unknown as string, undefined as unknown as Record<string, string>);
  if (m[4]) h.setParam('tag', m[4]);
  return h;
}

/** Inputs the cached parser must parse exactly as the stock one does. */
const SAMPLES: ReadonlyArray<readonly [string, string]> = [
  ['MESSAGE sip:user1@parley.local SIP/2.0', 'Request_Response'],
  ['SIP/2.0 200 OK', 'Request_Response'],
  ['SIP/2.0/WS abc.invalid;branch=z9hG4bK123;rport=5060;received=10.0.0.1', 'Via'],
  ['SIP/2.0/WS  127.0.0.1:39781;branch=z9hG4bKb103.9ebe6d6e646922e5e45900256b892c17.0', 'Via'],
  ['SIP/2.0/UDP 10.1.2.3;branch=z9hG4bK-1.x', 'Via'],
  ['SIP/2.0/TCP 255.0.0.1:5060;branch=z9hG4bK1', 'Via'],
  ['SIP/2.0/WS 127.0.0.1:5060;branch=z9hG4bK1;rport', 'Via'],
  ['SIP/2.0/WS 256.0.0.1;branch=z9hG4bK1', 'Via'],
  ['"Bob \\"B\\"" <sip:bob@partner.example;transport=udp>;tag=abc', 'From'],
  ['<sip:user1@parley.local>', 'To'],
  ['<sip:x1y2@df7jal23ls0d.invalid;transport=ws>;expires=600;+sip.instance="<urn:uuid:1>"', 'Contact'],
  ['<sip:127.0.0.1:5060;lr;r2=on>, <sip:127.0.0.1:8080;transport=ws;lr;r2=on>', 'Record_Route'],
  ['text/html;charset=ISO-8859-1', 'Content_Type'],
  ['1 MESSAGE', 'CSeq'],
  ['active;expires=3600', 'Subscription_State'],
  ['sip:alice@example.com:5070;user=phone?subject=x', 'SIP_URI'],
  ['not a uri', 'SIP_URI'],
  ['SIP/2.0 99 Bad', 'Request_Response'],
  ['<sip:bad@@x>', 'Contact'],
  ['SIP/2.0 480 Temporarily Unavailable', 'Request_Response'],
  ['a84b4c76e66710@pc33.atlanta.com', 'Call_ID'],
  ['4711', 'Content_Length'],
  ['70', 'Max_Forwards'],
  ['314159 INVITE', 'CSeq'],
  ['application/pidf+xml', 'Content_Type'],
  ['text/plain ; charset=UTF-8', 'Content_Type'],
  ['<sip:bob@partner.example>;tag=abc', 'From'],
  ['<sip:user1@parley.local:5070>', 'To'],
  ['MESSAGE sip:user1@parley.local SIP/2.0', 'Request_Response'],
  ['MESSAGE sip:k3l2@df7jal23ls0d.invalid;transport=ws SIP/2.0', 'Request_Response'],
  ['NOTIFY sip:u@127.0.0.1:5060 SIP/2.0', 'Request_Response'],
];

const shape = (v: unknown): string => JSON.stringify(v, (_k, x: unknown) => (x instanceof Map ? [...x] : x));

/** Installs the cached parser into sip.js (idempotent). Returns false and the reason if it could not. */
export function installCachedGrammar(): { ok: boolean; reason?: string } {
  if (cachedParse) {
    Grammar.parse = cachedParse;
    return { ok: true };
  }
  if (failure) return { ok: false, reason: failure };
  try {
    const factory = new Function('URI', 'NameAddrHeader', rewriteGrammar(grammarSource())) as (u: typeof URI, n: typeof NameAddrHeader) => ParseFn;
    const peg = factory(URI, NameAddrHeader);
    // The same wrapper sip.js puts around its generated parser.
    const parse = ((input: string, startRule: string): unknown => {
      const fast = FAST[startRule]?.(input);
      if (fast !== undefined) return fast;
      const options: { startRule: string; data?: unknown } = { startRule };
      try {
        peg(input, options);
      } catch {
        options.data = -1;
      }
      return options.data;
    }) as GrammarParse;
    for (const [input, rule] of SAMPLES) {
      const a = shape(stockParse(input, rule));
      const b = shape(parse(input, rule));
      if (a !== b) throw new Error(`cached parser differs on ${rule}: ${input}`);
    }
    cachedParse = parse;
    Grammar.parse = parse;
    return { ok: true };
  } catch (err) {
    failure = (err as Error).message;
    return { ok: false, reason: failure };
  }
}

/** Puts sip.js's own parser back (benchmarks compare both in one run). */
export function useStockGrammar(): void {
  Grammar.parse = stockParse;
}

export function grammarCached(): boolean {
  return cachedParse !== undefined && Grammar.parse === cachedParse;
}
