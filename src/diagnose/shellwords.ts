/**
 * A shell-form command's script as an exec form: the words sh splits it into, when splitting
 * words is all sh would do with it. The fixes that say "use the exec form" write it from this.
 */
/** A shell-form script as exec form: its NAME=value prefixes (for ENV) and its words, as sh splits them. */
export interface ExecForm {
  env: string[];
  words: string[];
}

/** Characters that make sh do more than split words: operators, expansions, a new line (globs: see globs()). */
const SHELL_WORK = new Set([...';&|<>()`$\n']);
/** Special only where a word starts: a comment, a home folder, reserved words. */
const WORD_START = new Set([...'#~!{}']);
const ESCAPED_IN_DOUBLE = new Set([...'$`"\\']);

/**
 * The words sh would split `script` into (quotes and backslashes as POSIX says), or null when
 * sh would do more than split them: an exec form cannot say that, and a fix must not pretend it can.
 */
export function execForm(script: string): ExecForm | null {
  const words: string[] = [];
  const raw: string[] = [];
  let cur: string | null = null;
  /** Where the current word has a * ? [ or ] outside quotes (a pattern, when they make one). */
  let bare: number[] = [];
  let start = 0;
  let active = false;
  const end = (at: number) => {
    if (cur === null) return;
    active ||= isPattern(cur, bare);
    words.push(cur);
    raw.push(script.slice(start, at));
    cur = null;
    bare = [];
  };
  for (let i = 0; i < script.length; i++) {
    const c = script[i]!;
    if (c === ' ' || c === '\t') {
      end(i);
      continue;
    }
    if (cur === null) {
      if (WORD_START.has(c)) return null;
      cur = '';
      start = i;
    }
    if (SHELL_WORK.has(c)) return null;
    if (c === "'") {
      const close = script.indexOf("'", i + 1);
      if (close < 0) return null;
      cur += script.slice(i + 1, close);
      i = close;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < script.length && script[j] !== '"'; j++) {
        const d = script[j]!;
        if (d === '$' || d === '`') return null;
        if (d === '\\' && ESCAPED_IN_DOUBLE.has(script[j + 1] ?? '')) cur += script[++j];
        else cur += d;
      }
      if (j >= script.length) return null;
      i = j;
    } else if (c === '\\') {
      if (i + 1 >= script.length || script[i + 1] === '\n') return null;
      cur += script[++i];
    } else {
      if (c === '*' || c === '?' || c === '[' || c === ']') bare.push(cur.length);
      cur += c;
    }
  }
  end(script.length);
  // a word that is a pattern becomes the names it matches (or stays, matching none): not split only
  if (active) return null;
  // NAME=value words before the command set its environment (only when NAME is written plain)
  let k = 0;
  while (k < words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(raw[k]!)) k++;
  if (k === words.length) return null;
  return { env: words.slice(0, k), words: words.slice(k) };
}

/** `ENV A=b` lines then the instruction in exec form, as a fix writes them. */
export function execFormLines(keyword: string, form: ExecForm): string {
  const env = form.env.map((a) => {
    const eq = a.indexOf('=');
    const value = a.slice(eq + 1);
    return `ENV ${a.slice(0, eq)}=${/^[\w./:,@%+-]*$/.test(value) ? value : JSON.stringify(value)}`;
  });
  return [...env, `${keyword} ${JSON.stringify(form.words)}`].join(', then ');
}

/**
 * Whether a word is a pattern to the shell: a * or ? outside quotes, or a [ outside quotes closed
 * by a ] outside quotes in the same part of the path (a slash ends a part, and a [ it leaves
 * open is a plain [). `['/app','-v']`, a JSON array written with single quotes, is the word
 * "[/app,-v]": its [ closes in no part, so sh looks it up as it is and finds nothing.
 * `bare`: where the word's unquoted * ? [ ] are.
 */
function isPattern(word: string, bare: number[]): boolean {
  if (bare.length === 0) return false;
  const special = new Set(bare);
  let open = false; // a [ outside quotes in this part of the path
  for (let i = 0; i < word.length; i++) {
    const c = word[i]!;
    if (c === '/') open = false;
    else if (!special.has(i)) continue;
    else if (c === '*' || c === '?') return true;
    else if (c === '[') open = true;
    else if (c === ']' && open) return true;
  }
  return false;
}
