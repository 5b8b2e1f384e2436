/**
 * MyST (Sphinx's Markdown) to plain CommonMark, before marked sees it:
 * - roles, ``{doc}`../cli/pip_config` `` or ``{ref}`Title <target>` ``, become their text as a
 *   code span (the text stays verbatim, nothing in it is read as Markdown): the explicit title
 *   when there is one, else the target (`~a.b.c` → `c`, a leading `!` dropped);
 * - fenced directives (```` ```{name} args ```` or `:::{name}`) become their text:
 *   code-block/code/sourcecode → an ordinary code fence; admonitions → their body, with the
 *   title (or the kind, "Note") as a first line; toctree/include/image/raw and the like,
 *   which hold no prose, go; any other directive keeps its body. Leading `:option: value`
 *   lines and a `---` option block are dropped.
 * Ordinary code fences and code spans are left alone, and so is any Markdown without MyST
 * syntax (the output is the input, byte for byte).
 */

const ROLE_OR_CODE = /\{([A-Za-z][\w:.+-]*)\}(`+)([\s\S]*?[^`])\2(?!`)|(`+)[\s\S]*?[^`]\4(?!`)/g;
const FENCE = /^( {0,3})(`{3,}|~{3,}|:{3,})\s*(\{([A-Za-z][\w:.+-]*)\})?\s*(.*)$/;

const CODE_DIRECTIVES = new Set(['code-block', 'code', 'sourcecode', 'code-cell', 'literalinclude-code']);
const DROPPED = new Set(['toctree', 'include', 'literalinclude', 'image', 'raw', 'contents', 'autosummary', 'automodule', 'autoclass', 'autofunction', 'tableofcontents', 'glossary-index', 'highlight', 'index', 'only-ignore']);
const ADMONITIONS = new Set(['note', 'warning', 'tip', 'important', 'caution', 'danger', 'error', 'hint', 'attention', 'seealso', 'admonition', 'versionadded', 'versionchanged', 'deprecated', 'todo']);

export function mystToMarkdown(md: string): string {
  if (!md.includes('{')) return md;
  return transform(md.split('\n')).join('\n');
}

function transform(lines: string[]): string[] {
  const out: string[] = [];
  let prose: string[] = [];
  const flush = () => {
    if (prose.length) out.push(...roles(prose.join('\n')).split('\n'));
    prose = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const m = FENCE.exec(lines[i]!);
    if (!m) {
      prose.push(lines[i]!);
      continue;
    }
    const [, indent, fence, , name, rest] = m as unknown as [string, string, string, string | undefined, string | undefined, string];
    // The closing fence: same character, at least as long, nothing else on the line.
    let end = i + 1;
    const close = new RegExp(`^ {0,3}${fence[0] === '`' ? '`' : fence[0] === '~' ? '~' : ':'}{${fence.length},}\\s*$`);
    while (end < lines.length && !close.test(lines[end]!)) end++;
    const body = lines.slice(i + 1, end);
    if (name === undefined) {
      if (fence[0] === ':') {
        prose.push(lines[i]!);
        continue;
      }
      // An ordinary code fence: verbatim, roles in it are code.
      flush();
      out.push(...lines.slice(i, Math.min(end + 1, lines.length)));
      i = end;
      continue;
    }
    flush();
    out.push(...directive(name.toLowerCase(), rest.trim(), stripOptions(body), indent));
    i = end;
  }
  flush();
  return out;
}

function directive(name: string, args: string, body: string[], indent: string): string[] {
  if (CODE_DIRECTIVES.has(name)) return [`${indent}\`\`\`\`${args.split(/\s+/)[0] ?? ''}`, ...body, `${indent}\`\`\`\``];
  if (DROPPED.has(name)) return [];
  const inner = transform(body);
  const kind = name.replace(/^.*:/, '');
  const title = kind === 'admonition' ? args : ADMONITIONS.has(kind) ? label(kind) + (args ? `: ${args}` : '') : args;
  const head = title ? ['', roles(title), ''] : [''];
  return [...head, ...inner, ''];
}

function label(kind: string): string {
  const words: Record<string, string> = { seealso: 'See also', versionadded: 'New in version', versionchanged: 'Changed in version', todo: 'To do' };
  return words[kind] ?? kind[0]!.toUpperCase() + kind.slice(1);
}

/** `:key: value` lines, or a `---` ... `---` YAML block, at the top of a directive's body. */
function stripOptions(body: string[]): string[] {
  let i = 0;
  if (body[0]?.trim() === '---') {
    const end = body.indexOf('---', 1);
    if (end > 0) i = end + 1;
  } else {
    while (i < body.length && /^\s*:[\w-]+:/.test(body[i]!)) i++;
  }
  return body.slice(i);
}

function roles(text: string): string {
  return text.replace(ROLE_OR_CODE, (all, name: string | undefined, _ticks, content: string | undefined) => {
    if (name === undefined || content === undefined) return all; // a code span: as written
    const shown = roleText(content.trim());
    const ticks = /`/.test(shown) ? '`` ' : '`';
    return `${ticks}${shown}${ticks === '`` ' ? ' ``' : '`'}`;
  });
}

function roleText(content: string): string {
  const titled = /^([\s\S]*?)\s*<([^<>]+)>$/.exec(content);
  if (titled && titled[1]!.trim() !== '') return titled[1]!.trim();
  let t = titled ? titled[2]!.trim() : content;
  if (t.startsWith('!')) t = t.slice(1);
  if (t.startsWith('~')) t = t.slice(1).split('.').pop() ?? t;
  return t;
}
