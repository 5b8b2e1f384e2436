/**
 * The built-in generator, one question kind at a time, on short real-looking passages; and the
 * failure cases of issue 12 as regression fixtures (heading templates, questions that point
 * outside themselves, answers cut before their list or stripped of their qualifiers).
 */
import { describe, expect, it } from 'vitest';
import { sliceCodePoints, spanText } from '../activities/evidence.js';
import { generatePairs, type ChunkInput } from '../activities/generate/builtin/index.js';
import { spanAnswer } from '../activities/generate/builtin/answers.js';
import { documentFrame } from '../activities/generate/builtin/frame.js';
import { questionForm } from '../activities/questionForm.js';

function gen(text: string, title?: string, section?: string[], maxPairs = 8) {
  const chunk: ChunkInput = { text, ...(title ? { title } : {}), ...(section ? { section, heading: section.at(-1)! } : {}) };
  const pairs = generatePairs(chunk, maxPairs);
  for (const p of pairs) expect(spanText(sliceCodePoints(text, p.evidence!.start, p.evidence!.end))).toBe(p.answer);
  return pairs;
}
const qa = (text: string, title?: string, section?: string[]) => gen(text, title, section).map((p) => [p.question, p.answer]);

describe('question kinds', () => {
  it('what: quoted definitions name the document and answer with the whole sentence', () => {
    const text = '"Licensor" shall mean the copyright owner or entity authorized by the copyright owner that is granting the License.';
    expect(qa(text, 'Apache License')).toEqual([['In the Apache License, what does “Licensor” mean?', text]]);
    // A long document name goes after the question, so a question word still comes first.
    expect(gen('“The Program” refers to any copyrightable work licensed under this License.', 'GNU GENERAL PUBLIC LICENSE')[0]?.question).toBe(
      'What does “The Program” refer to in the GNU General Public License?',
    );
    // A defined term without a document to name is no question at all ("What does “You” mean?").
    expect(gen('"You" (or "Your") shall mean an individual or Legal Entity exercising permissions.')).toEqual([]);
  });

  it('what: "X is a Y" keeps the qualifiers of its sentence', () => {
    expect(qa('Redis is an in-memory data store used as a cache.')).toEqual([['What is Redis?', 'Redis is an in-memory data store used as a cache.']]);
    const hedged = 'In most cases, a module is a file containing Python definitions and statements.';
    expect(qa(hedged, '6. Modules')).toEqual([['What is a module?', hedged]]);
    expect(gen('It is a library for parsing things quickly. This is a very common mistake to make.')).toEqual([]);
  });

  it('what: API entries under "X Objects" ask about X.method() in the module; a version note asks when', () => {
    const text =
      'debug(msg, *args, **kwargs)\n\nLogs a message with level DEBUG on this logger. The msg is the message format string.\n\n' +
      'New in version 3.2.\n\nThe longer description of the logger goes on for a while here, with more words than before. ' +
      'It explains how the arguments are merged into the message and when the formatting happens in the handler.';
    const pairs = qa(text, 'logging — Logging facility for Python', ['logging — Logging facility for Python', 'Logger Objects']);
    expect(pairs).toContainEqual([
      "In Python's `logging` module, what does `Logger.debug()` do?",
      'Logs a message with level DEBUG on this logger. The msg is the message format string.',
    ]);
    expect(pairs).toContainEqual(["In Python's `logging` module, when was `Logger.debug()` added?", 'New in version 3.2.']);
    // "New in version 3.6: Added the fold argument." is about the argument.
    const fold =
      'replace(hour=0)\n\nReturn a time with the same value, except for those attributes given new values by whichever keyword arguments are specified.\n\n' +
      'New in version 3.6: Added the fold argument.';
    expect(qa(fold, 'datetime — Basic date and time types')).toContainEqual([
      'In the `datetime` module, when was the fold argument added to `replace()`?',
      'New in version 3.6: Added the fold argument.',
    ]);
  });

  it('which: an API entry asked the other way round is answered by its signature', () => {
    const text = 'os.path.getatime(path)\n\nReturn the time of last access of path as a number of seconds.';
    expect(qa(text, 'os.path — Common pathname manipulations')).toEqual([
      ['Which function in the `os.path` module returns the time of last access of path as a number of seconds?', 'os.path.getatime(path)'],
    ]);
    // Too unspecific to point at one entry ("Which function always returns None?"): asked the usual way.
    expect(qa('timezone.dst(dt)\n\nAlways returns None.', 'datetime — Basic date and time types')).toEqual([
      ['In the `datetime` module, what does `timezone.dst()` do?', 'Always returns None.'],
    ]);
  });

  it('what: glossary entries run into their paragraph, named as the section says', () => {
    const text = 'COMPREPLY An array variable from which Bash reads the possible completions. Each element holds one completion.';
    expect(qa(text, 'Bash Reference Manual', ['Bash Reference Manual', '5.2 Bash Variables'])).toEqual([
      ['In Bash, what is the `COMPREPLY` variable?', 'An array variable from which Bash reads the possible completions.'],
    ]);
  });

  it('what/which: a manual command entry (name, synopsis, description) is asked both ways, one of them kept', () => {
    const text = 'logout logout [n] Exit a login shell, returning a status of n to the shell’s parent.';
    const pairs = qa(text, 'Bash Reference Manual', ['Bash Reference Manual', '4.2 Bash Builtin Commands']);
    expect(pairs).toHaveLength(1);
    expect([
      ['In Bash, what does the `logout` builtin do?', 'Exit a login shell, returning a status of n to the shell’s parent.'],
      ['Which builtin in Bash exits a login shell, returning a status of n to the shell’s parent?', 'logout'],
    ]).toContainEqual(pairs[0]);
  });

  it('yes/no: obligations and permissions', () => {
    const may = 'You may charge a fee for the physical act of transferring a copy, and you may offer warranty protection.';
    expect(qa(may, 'GNU LESSER GENERAL PUBLIC LICENSE')).toEqual([
      ['Are you allowed to charge a fee for the physical act of transferring a copy in the GNU Lesser General Public License?', may],
    ]);
    // "You may not copy, modify, …": the question would be "Are you allowed to not copy?".
    expect(gen('You may not copy, modify, sublicense, or distribute the Library except as provided.', 'GNU LESSER GENERAL PUBLIC LICENSE')).toEqual([]);
  });

  it('what: a tagline under the product name', () => {
    expect(qa('vitest\n\nNext generation testing framework powered by Vite.\n\nGitHub | Documentation', 'vitest', ['vitest'])).toEqual([
      ['What is vitest?', 'Next generation testing framework powered by Vite.'],
    ]);
  });

  it('who: authors and organisations', () => {
    const text = 'Python was created by Guido van Rossum at CWI in the Netherlands.';
    expect(qa(text)).toEqual([['Who created Python?', text]]);
    const maint = 'The Bash shell is maintained by Chet Ramey at Case Western Reserve University.';
    expect(qa(maint, 'Bash Reference Manual')).toEqual([['Who maintains the Bash shell?', maint]]);
  });

  it('when: dates and versions', () => {
    const text = 'Support for streams was added in version 3.2 of the package.';
    expect(qa(text, 'fflate')).toEqual([['In fflate, when was support for streams added?', text]]);
    const year = 'The GNU Bash manual was first published in 1989 by the Free Software Foundation.';
    expect(qa(year, 'Bash Reference Manual')[0]?.[0]).toBe('When was the GNU Bash manual published?');
  });

  it('where: locations, files and paths', () => {
    const text = 'Compiled modules are cached in the __pycache__ directory under the name module.version.pyc.';
    expect(qa(text, '6. Modules')).toEqual([['Where are compiled modules cached?', text]]);
    const conf = 'The user configuration is stored in ~/.config/tool/settings.json on Linux.';
    expect(qa(conf, 'tool')[0]?.[0]).toBe('In tool, where is the user configuration stored?');
  });

  it('how many: the number keeps its unit and the answer its qualifier and list', () => {
    const text = 'Python has two built-in functions that read input:\n\n- input() reads a line from the user\n- open() opens a file for reading\n\nMore text follows here.';
    expect(qa(text, 'General Python FAQ')).toEqual([
      ['How many built-in functions does Python have?', 'Python has two built-in functions that read input:\n- input() reads a line from the user\n- open() opens a file for reading'],
    ]);
    expect(qa('The parser supports over 12 languages out of the box.', 'tool')).toEqual([
      ['In tool, how many languages does the parser support?', 'The parser supports over 12 languages out of the box.'],
    ]);
  });

  it('how: "To do X, …" sentences, "can be done by" and task headings with steps', () => {
    const text = 'To install the package globally, run npm install -g tool with administrator rights.';
    expect(qa(text, 'tool')).toEqual([['In tool, how do you install the package globally?', text]]);
    const steps = 'Installing from source\n\n1. Download the tarball.\n2. Run ./configure in the source directory.\n3. Run make and make install.\n\nThat is it.';
    expect(qa(steps, 'Bash Reference Manual', ['Installing from source'])).toEqual([
      ['How do you install Bash from source?', '1. Download the tarball.\n2. Run ./configure in the source directory.\n3. Run make and make install.'],
    ]);
    const map = 'Custom style maps can be embedded using the embedStyleMap function of the library.';
    expect(qa(map, 'Mammoth .docx to HTML converter')[0]?.[0]).toBe('How can custom style maps be embedded in Mammoth .docx to HTML converter?');
  });

  it('why: explicit because / so that / in order to', () => {
    const text = 'The shell uses a hash table because searching $PATH on every command would be slow.';
    expect(qa(text, 'Bash Reference Manual')).toEqual([['In Bash, why does the shell use a hash table?', text]]);
    const quoting = 'Shell quoting is honored within the string, in order to provide a mechanism for the words to contain metacharacters.';
    expect(qa(quoting, 'Bash Reference Manual')[0]?.[0]).toBe('In Bash, why is shell quoting honored within the string?');
    // "this purpose" points outside the sentence.
    expect(gen('Lists are not efficient for this purpose, because inserts at the beginning are slow.')).toEqual([]);
  });

  it('yes/no: from an explicit statement, answered by the statement', () => {
    const text = 'The shell does not reset OPTIND automatically, so it must be reset between calls to getopts.';
    expect(qa(text, 'Bash Reference Manual')).toEqual([['Does the shell reset OPTIND automatically in Bash?', text]]);
    const can = 'The random number generator cannot be seeded, so assignments to this variable have no effect.';
    expect(qa(can, 'Bash Reference Manual')[0]?.[0]).toBe('Can the random number generator be seeded in Bash?');
    // Nothing when the answer would only repeat the question with a "not".
    expect(gen('The shell does not reset OPTIND.', 'Bash Reference Manual')).toEqual([]);
  });

  it('comparison: within one sentence', () => {
    const text = 'Tuples are usually faster than lists when the data never changes.';
    expect(qa(text)).toEqual([['Which is faster, tuples or lists?', text]]);
    const unlike = 'Unlike JSON, YAML allows comments in configuration files.';
    expect(qa(unlike)[0]?.[0]).toBe('How does YAML differ from JSON?');
  });

  it('heading questions: a question heading stays, self-contained; "What about …?" and "this" do not', () => {
    const text = 'What is Bash?\n\nBash is the shell, or command language interpreter, for the GNU operating system.';
    expect(qa(text, 'Bash Reference Manual', ['1.1 What is Bash?'])).toEqual([['What is Bash?', 'Bash is the shell, or command language interpreter, for the GNU operating system.']]);
    expect(gen('How does this module differ from others?\n\nIt is faster and smaller than the others are.', 'htmlparser2', ['How does this module differ from others?'])).toEqual([]);
    expect(gen('What about CompressionStream?\n\nThat one is a good option for many programs today.', 'fflate', ['What about CompressionStream?'])).toEqual([]);
  });

  it('gives a mix of kinds in one chunk, and every form it asks is counted as itself', () => {
    const text = [
      'Python was created by Guido van Rossum at CWI in the Netherlands.',
      'Python is a programming language that lets you work quickly and integrate systems effectively.',
      'Compiled modules are cached in the __pycache__ directory under the name module.version.pyc.',
      'To install the package globally, run npm install -g tool with administrator rights.',
      'Tuples are usually faster than lists when the data never changes.',
      'The interpreter uses a hash table because searching the path on every call would be slow.',
    ].join(' ');
    // The budget (about one pair per 35 words, plus one) allows four here: four different kinds.
    const forms = gen(text, 'General Python FAQ').map((p) => questionForm(p.question));
    expect(forms).toHaveLength(4);
    expect(new Set(forms).size).toBe(4);
    expect(forms).not.toContain('other');
  });
});

describe('definition lists of manuals (options, Readline commands and variables, settings)', () => {
  const bash = 'Bash Reference Manual';

  it("which: a builtin's option is asked by what it does, the builtin named from its entry line", () => {
    const text =
      'dirs\n\ndirs [-clpv] [+N | -N]\n\nDisplay the list of currently remembered directories.\n\n' +
      '-c Clears the directory stack by deleting all of the elements.\n\n-f filename Read key bindings from filename.';
    const pairs = qa(text, bash, [bash, '6.8 The Directory Stack', '6.8.1 Directory Stack Builtins']);
    expect(pairs).toContainEqual(['Which option of `dirs` in Bash clears the directory stack by deleting all of the elements?', '-c']);
    // The argument the description uses is part of the option's name.
    expect(pairs).toContainEqual(['Which option of `dirs` in Bash reads key bindings from filename?', '-f filename']);
  });

  it('what: an option whose description does not read as a clause is asked by its name; one that names no action is not asked', () => {
    const text = 'ulimit ulimit [-HS] -a\n\n-l Produces a listing using full pathnames; the default listing format uses a tilde.\n\n-b The maximum socket buffer size.';
    const pairs = qa(text, bash, [bash, '4.2 Bash Builtin Commands']);
    expect(pairs).toContainEqual([
      'In Bash, what does the `-l` option of `ulimit` do?',
      'Produces a listing using full pathnames; the default listing format uses a tilde.',
    ]);
    expect(pairs.filter(([q]) => q!.includes('`-b`'))).toEqual([]);
  });

  it('asks nothing about an option list whose builtin is not in the chunk or its section', () => {
    const text = '-p Display Readline function names and bindings in such a way that they can be used as input.\n\n-P List current Readline function names and bindings.';
    expect(qa(text, bash, [bash, '4.2 Bash Builtin Commands']).filter(([q]) => /option of/.test(q!))).toEqual([]);
    // The section can name it: "4.3.2 The Shopt Builtin".
    expect(qa('-s Enable each optname named on the command line.', bash, [bash, '4.3.2 The Shopt Builtin'])).toEqual([
      ['Which option of `shopt` in Bash enables each optname named on the command line?', '-s'],
    ]);
  });

  it('which: a bindable Readline command is answered by its name', () => {
    const text = 'kill-line (C-k) Kill the text from point to the end of the line. With a negative numeric argument, kill backward.\n\nyank (C-y) Yank.';
    expect(qa(text, bash, [bash, '8.4 Bindable Readline Commands', '8.4.4 Killing And Yanking'])).toEqual([
      ['Which Readline command in Bash kills the text from point to the end of the line?', 'kill-line'],
    ]);
    // The same paragraph outside a Readline commands section is no command entry.
    expect(qa(text, bash, [bash, '3.1 Shell Syntax']).filter(([, a]) => a === 'kill-line')).toEqual([]);
  });

  it('which/what: a setting is asked by its effect, or by its name when the effect is not said of the program', () => {
    const readline = [bash, '8.3 Readline Init File', '8.3.1 Readline Init File Syntax'];
    expect(qa('disable-completion If set to ‘On’, Readline will inhibit word completion. Completion characters are inserted.', bash, readline)).toContainEqual([
      'Which Readline variable in Bash makes Readline inhibit word completion?',
      'disable-completion',
    ]);
    expect(qa('mark-directories If set to ‘on’, completed directory names have a slash appended.', bash, readline)).toEqual([
      ['In Bash, what does the Readline variable `mark-directories` do?', 'If set to ‘on’, completed directory names have a slash appended.'],
    ]);
    const shopt = 'autocd If set, a command name that is the name of a directory is executed as if it were the argument to the cd command.';
    expect(qa(shopt, bash, [bash, '4.3 Modifying Shell Behavior', '4.3.2 The Shopt Builtin'])).toEqual([['In Bash, what does the `autocd` option of `shopt` do?', shopt.slice(7)]]);
  });
});

describe('conditions stated before the fact', () => {
  it('when: "If/When <condition>, X does Y." asks when X does Y, answered by the sentence', () => {
    const s = 'When no arguments are given, popd removes the top directory from the stack and changes to the new top directory.';
    // Two clauses in the predicate: which one would the question ask about?
    expect(qa(s, 'Bash Reference Manual').filter(([q]) => /^When|when does/.test(q!))).toEqual([]);
    const one = 'If the extglob shell option is enabled using the shopt builtin, the shell recognizes several extended pattern matching operators.';
    expect(qa(one, 'Bash Reference Manual')).toEqual([['In Bash, when does the shell recognize several extended pattern matching operators?', one]]);
    const will = 'If no input is received within the timeout, Readline will use the shorter but complete key sequence.';
    expect(qa(will, 'Bash Reference Manual')).toEqual([['In Bash, when does Readline use the shorter but complete key sequence?', will]]);
    // A passive main clause is asked in the passive.
    const passive = 'When the shell starts up, the history is initialized from the file named by the HISTFILE variable.';
    expect(qa(passive, 'Bash Reference Manual')).toEqual([['In Bash, when is the history initialized from the file named by the HISTFILE variable?', passive]]);
  });

  it('asks nothing when the condition needs its entry or the subject was misread', () => {
    for (const s of [
      'If set, Bash attempts to preserve what the user typed in the buffer.', // set: which setting?
      'If n is zero or greater than the count, the positional parameters are not changed.', // n of what?
      'If -a is supplied, the shell passes name as the zeroth argument to command.', // -a of what?
      'If there are no options, a list of the shell builtins is displayed.',
      'If nargs is not provided, the number of arguments consumed is determined by the action.', // "arguments" is no verb
      'If set to none, Readline never rings the bell at all.',
      'If it does, the shell reports an error about the job.',
      'If the variable does not exist, then EOF signifies the end of input to the shell.', // which variable?
    ]) {
      expect(qa(s, 'Bash Reference Manual').filter(([q]) => /\bwhen (?:does|do)\b/i.test(q!)), s).toEqual([]);
    }
  });
});

describe('issue 12 regressions', () => {
  it('makes no heading templates: labels and page furniture are not subjects', () => {
    const text =
      'Note\n\nThis function is deprecated and will be removed in a later release of the library.\n\n' +
      'Navigation\n\nThe following sections describe the API in detail and show examples.\n\n' +
      'Custom Formatters\n\nInstead of a static format string you can pass a callback. It receives the options.\n\n' +
      'Chet Ramey, Case Western Reserve University Brian Fox, Free Software Foundation\n\n' +
      'Table of Contents\n\n1 Introduction . . . . . . . . . . . 1\n\n3.1 Shell Syntax . . . . . . . . . . 7';
    expect(gen(text, 'Bash Reference Manual', ['Note'])).toEqual([]);
  });

  it('never asks about "the latter", "the following", "each arg" or a pronoun', () => {
    const text =
      'The latter is a tuple of strings used for the lookup. The following is a list of options for the parser. ' +
      'Each arg is a string that names an argument. It is the default handler for the root logger. They are listed below.';
    expect(gen(text, 'argparse — Parser for command-line options')).toEqual([]);
  });

  it('does not cut an answer where it introduces a list or code it should contain', () => {
    expect(gen('To start the server, you need to run:\n\n$ npm start\n\nThat is all for the setup.', 'fastserve')).toEqual([]);
    // A list that runs to the end of the chunk may continue in the next one.
    expect(gen('Python has two built-in functions that read input:\n\n- input() reads a line\n- open() opens a file', 'General Python FAQ')).toEqual([]);
  });

  it('skips spans with PDF hyphenation artefacts and never ends an answer on ":" or "such as"', () => {
    const text = 'The shell performs conver- sion of each word. The shell supports options such as';
    expect(spanAnswer(text, 0, 44)).toBeUndefined();
    expect(spanAnswer(text, 45, text.length)).toBeUndefined();
    expect(spanAnswer('Options are:', 0, 12)).toBeUndefined();
    expect(gen('Bash is a shell that performs conver- sion of each word before running it.', 'Bash Reference Manual')).toEqual([]);
  });

  it('names the document from its title, and nothing for furniture titles', () => {
    expect(documentFrame('Apache License')?.phrase).toBe('the Apache License');
    expect(documentFrame('GNU GENERAL PUBLIC LICENSE')?.phrase).toBe('the GNU General Public License');
    expect(documentFrame('Mozilla Public License Version 2.0')?.phrase).toBe('the Mozilla Public License, Version 2.0');
    expect(documentFrame('Bash Reference Manual')?.phrase).toBe('Bash');
    expect(documentFrame('logging — Logging facility for Python')?.phrase).toBe("Python's `logging` module");
    expect(documentFrame('csv — CSV File Reading and Writing')?.phrase).toBe('the `csv` module');
    expect(documentFrame('Sponsors')).toBeUndefined();
    expect(documentFrame('9. Classes')).toBeUndefined();
  });

  it('budgets by content: a long chunk gets several pairs, maxPairs caps them, maxPairs 0 gives none', () => {
    const sentence = (i: number) => `Widget${i} is a small reusable component that renders part number ${i} of the page.`;
    const text = Array.from({ length: 30 }, (_, i) => sentence(i)).join(' ');
    expect(gen(text).length).toBeGreaterThanOrEqual(4);
    // "What …?" questions take at most half a chunk's budget, so other kinds get their turn.
    expect(gen(text, undefined, undefined, 4)).toHaveLength(2);
    expect(gen(text, undefined, undefined, 1)).toHaveLength(1);
    expect(gen(text, undefined, undefined, 0)).toEqual([]);
    expect(gen(sentence(1))).toHaveLength(1);
  });

  it('is deterministic', () => {
    const text = 'Python was created by Guido van Rossum. Tuples are usually faster than lists when the data never changes.';
    expect(gen(text, 'General Python FAQ')).toEqual(gen(text, 'General Python FAQ'));
  });
});

describe('speed', () => {
  // No timing assertion (the machine's load decides timings): a catastrophic regex shows as this
  // test running into vitest's timeout; bench/builtinQuality.ts measures the speed.
  it('gets through long adversarial text (no catastrophic backtracking)', () => {
    const shapes = [
      'a '.repeat(20_000),
      'The Thing is '.repeat(5_000),
      `${'x'.repeat(50_000)}(`,
      'To do, '.repeat(10_000),
      `"${'A'.repeat(30_000)}`,
      'f(a(b(c(d(e(', // unbalanced parentheses on a signature-like line
      Array.from({ length: 3_000 }, (_, i) => `Widget${i} is a small component that is faster than Gadget${i} because it caches.`).join(' '),
      Array.from({ length: 2_000 }, (_, i) => `- item ${i} does not support feature ${i}, so it fails\n`).join(''),
    ];
    for (const text of shapes) {
      const pairs = generatePairs({ text, title: 'Bash Reference Manual', section: ['Bash Reference Manual'] }, 8);
      expect(pairs.length, text.slice(0, 30)).toBeLessThanOrEqual(8);
    }
  });
});

describe('regressions from the v2 hand score', () => {
  it('asks no yes/no question whose predicate ends on a preposition', () => {
    const text = 'The shell allows control over which commands are saved on the history list.';
    const qs = generatePairs({ text, title: 'Bash Reference Manual' }, 8).map((p) => p.question);
    expect(qs.filter((q) => /\bover in Bash\?$/.test(q))).toEqual([]);
  });

  it('asks no reverse question from a description that runs on past a period', () => {
    const text = 'shift shift [n] Shift the positional parameters to the left by n. The positional parameters from n+1 are renamed to $1.';
    const qs = generatePairs({ text, title: 'Bash Reference Manual', section: ['Bash Reference Manual', '4.1 Bourne Shell Builtins'] }, 8).map((p) => p.question);
    expect(qs.length).toBeGreaterThan(0); // the entry itself is still asked about
    expect(qs.filter((q) => /^Which builtin/.test(q) && /\.\s/.test(q))).toEqual([]);
  });
});
