/**
 * Checks an analyst's statement before it runs with readonly=1: one SELECT
 * (or WITH ... SELECT), no second statement, no INTO OUTFILE (which writes a
 * file even in readonly mode on embedded chDB), no FORMAT clause (the CLI
 * chooses the output format). readonly=1 on the session or request is the
 * enforcement; this check gives a clear message first.
 */
export function checkReadOnlySql(sql: string): string {
  if (sql.length > 100_000) throw new Error('query too long');
  if (sql.includes('\0')) throw new Error('query contains a NUL byte');
  const code = stripCommentsAndStrings(sql);
  const trimmed = code.trim().replace(/;\s*$/, '');
  if (trimmed.length === 0) throw new Error('empty query');
  if (trimmed.includes(';')) throw new Error('one statement only');
  if (!/^(SELECT|WITH)\b/i.test(trimmed)) throw new Error('only SELECT queries are allowed');
  if (/\bINTO\s+OUTFILE\b/i.test(trimmed)) throw new Error('INTO OUTFILE is not allowed');
  if (/\bFORMAT\s+[A-Za-z]/i.test(trimmed)) throw new Error('FORMAT is chosen with --format');
  return sql.trim().replace(/;\s*$/, '');
}

/** Replaces comments and the contents of quoted strings/identifiers with spaces (lengths kept). */
function stripCommentsAndStrings(sql: string): string {
  let out = '';
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] as string;
    const next = sql[i + 1];
    if (c === '-' && next === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end === -1 ? sql.length : end;
      out += ' '.repeat(stop - i);
      i = stop;
    } else if (c === '#' ) {
      const end = sql.indexOf('\n', i);
      const stop = end === -1 ? sql.length : end;
      out += ' '.repeat(stop - i);
      i = stop;
    } else if (c === '/' && next === '*') {
      const end = sql.indexOf('*/', i + 2);
      if (end === -1) throw new Error('unterminated comment');
      out += ' '.repeat(end + 2 - i);
      i = end + 2;
    } else if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < sql.length && sql[j] !== c) j += sql[j] === '\\' ? 2 : 1;
      if (j >= sql.length) throw new Error('unterminated quote');
      out += c + ' '.repeat(j - i - 1) + c;
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}
