import { describe, expect, it } from 'vitest';
import { codePoints, spanText } from '../activities/evidence.js';
import { normalizeQuestion, validatePair } from '../activities/validate.js';
import type { CandidatePair } from '../activities/types.js';
import type { Chunk } from '../schemas/index.js';

const chunkOf = (text: string): Chunk => ({ chunkId: 'doc-0000', index: 0, charStart: 0, charEnd: codePoints(text), text });

const chunk = chunkOf(
  '"License" shall mean the terms and conditions for use, reproduction, and distribution. ' +
    'Chai is an assertion library for Node.js, released in 2011.',
);

/** The span of `s` in the (ASCII) chunk text, in code points. */
const spanOf = (s: string) => ({ start: chunk.text.indexOf(s), end: chunk.text.indexOf(s) + s.length });

const check = (question: string, answer: string, limits = {}, extra: Partial<CandidatePair> = {}) =>
  validatePair({ question, answer, ...extra }, chunk, limits);

// The Apache License's definitions, as an LLM saw them in the regression run.
const apache = chunkOf(
  '"Derivative Works" shall mean any work, whether in Source or Object form, that is based on (or ' +
    'derived from) the Work and for which the editorial revisions, annotations, elaborations, or other ' +
    'modifications represent, as a whole, an original work of authorship. For the purposes of this ' +
    'License, Derivative Works shall not include works that remain separable from, or merely link (or ' +
    'bind by name) to the interfaces of, the Work and Derivative Works thereof.',
);

describe('validatePair', () => {
  it('passes a good grounded pair and returns where its answer is', () => {
    const v = check('What does “License” mean?', 'the terms and conditions for use, reproduction, and distribution');
    expect(v).toEqual({ reasons: [], detail: '', evidence: spanOf('the terms and conditions for use, reproduction, and distribution') });
  });

  it('flags empty fields without also calling them too short', () => {
    const v = check('   ', '');
    expect(v.reasons).toEqual(['empty']);
    expect(v.detail).toBe('question is empty; answer is empty');
    expect(v.evidence).toBeUndefined();
  });

  it('flags too short and too long, with the numbers in the detail', () => {
    expect(check('What?', 'an assertion library').reasons).toEqual(['too_short']);
    const v = check('What is Chai?', 'an assertion library', { minAnswerChars: 30 });
    expect(v.reasons).toEqual(['too_short']);
    expect(v.detail).toBe('answer is 20 chars (min 30)');
    const long = check(`What is ${'very '.repeat(120)}Chai?`, 'an assertion library');
    expect(long.reasons).toContain('too_long');
    expect(long.detail).toMatch(/question is \d+ chars \(max 500\)/);
  });

  it('counts code points, not UTF-16 units', () => {
    // 4 emoji are 8 UTF-16 units but 4 characters: below a minimum of 5.
    expect(check('What is Chai?', '😀😀😀😀', { minAnswerChars: 5 }).reasons).toContain('too_short');
  });

  it('rejects an answer that is most of its chunk (regression: a 900-char answer holding the whole chunk)', () => {
    const sentences = [
      'The logging module defines functions and classes which implement a flexible event logging system for applications and libraries.',
      'The key benefit of having the logging API provided by a standard library module is that all Python modules can participate in logging.',
      'Your application log can include your own messages integrated with messages from third-party modules.',
      'Loggers expose the interface that application code directly uses, and handlers send the log records to the appropriate destination.',
      'Filters provide a finer grained facility for determining which log records to output, and formatters specify the layout of log records.',
      'Log event information is passed between loggers, handlers, filters and formatters in a LogRecord instance.',
      'Logging is performed by calling methods on instances of the Logger class, and each instance has a name.',
    ];
    const whole = chunkOf(sentences.join(' '));
    const answer = sentences.slice(0, 6).join(' ');
    const v = validatePair({ question: 'What does the Python logging module provide?', answer }, whole);
    expect(v.reasons).toEqual(['too_long']);
    expect(v.detail).toBe(`answer holds most of the chunk (${codePoints(answer)} of its ${codePoints(whole.text)} chars)`);
    // A short answer from the same chunk, or a long answer from a much longer chunk, is fine.
    expect(validatePair({ question: 'What is passed between loggers and handlers?', answer: 'a LogRecord instance' }, whole).reasons).toEqual([]);
    const longer = chunkOf(`${whole.text} ${whole.text} ${whole.text}`);
    expect(validatePair({ question: 'What does the Python logging module provide?', answer }, longer).reasons).toEqual([]);
  });

  it('requires a question mark and a question word', () => {
    expect(check('What is Chai', 'an assertion library').reasons).toEqual(['not_a_question']);
    const v = check('Tell me about Chai?', 'an assertion library');
    expect(v.reasons).toEqual(['not_a_question']);
    expect(v.detail).toContain("does not start with a question word ('tell')");
    for (const q of ['Is Chai an assertion library?', 'Does Chai run on Node.js?', 'In what year was Chai released?', 'How is Chai used?']) {
      expect(check(q, 'an assertion library for Node.js').reasons, q).not.toContain('not_a_question');
    }
  });

  it('accepts a question mark followed by a closing quote or bracket (regression: `?\'` was rejected)', () => {
    for (const q of ["What does 'License' mean?'", 'What does "License" mean?"', 'What does “License” mean?”', 'What does ‘License’ mean?’', '(What does “License” mean?)']) {
      expect(check(q, 'the terms and conditions for use').reasons, q).toEqual([]);
    }
    expect(check("What does 'License' mean'?x", 'the terms and conditions for use').reasons).toEqual(['not_a_question']);
  });

  it('rejects questions that point at text the reader cannot see (regression: "What does the passage say?")', () => {
    const v = check('What does the passage say?', 'Chai is an assertion library for Node.js, released in 2011.');
    expect(v.reasons).toEqual(['not_self_contained']);
    expect(v.detail).toBe('“the passage” points at text the reader cannot see');
    expect(check('What does the section “Chai” say?', 'Chai is an assertion library for Node.js').reasons).toEqual(['not_self_contained']);
    expect(check('What is it?', 'an assertion library for Node.js').reasons).toEqual(['not_self_contained']);
  });

  it('takes a given evidence span when its text is exactly the answer', () => {
    const span = spanOf('Chai is an assertion library for Node.js, released in 2011.');
    const answer = spanText(chunk.text.slice(span.start, span.end));
    expect(answer).toBe('Chai is an assertion library for Node.js, released in 2011.');
    expect(check('What is Chai?', answer, {}, { evidence: span })).toEqual({ reasons: [], detail: '', evidence: span });
    const off = check('What is Chai?', answer, {}, { evidence: { start: span.start - 1, end: span.end - 1 } });
    expect(off.reasons).toEqual(['not_grounded']);
    expect(off.detail).toBe(`the answer is not the text of its evidence span [${span.start - 1}, ${span.end - 1})`);
    expect(off.evidence).toBeUndefined();
  });

  it('locates an answer without a span, ignoring case and punctuation', () => {
    expect(check('What is Chai?', 'An ASSERTION library (for Node.js)!')).toEqual({ reasons: [], detail: '', evidence: spanOf('an assertion library for Node.js') });
    const v = check('What is Chai?', 'a mocking framework for Python');
    expect(v.reasons).toEqual(['not_grounded']);
    expect(v.detail).toBe('the answer is not in the chunk, not even approximately');
  });

  it('rejects a made-up answer whose words are all in the passage (regression: the definition of "modification")', () => {
    // Every word of the answer is in the passage, so word overlap alone let it pass.
    const answer = 'any work that is based on modifications or revisions of the Work';
    const v = validatePair({ question: 'In the Apache License, what does "modification" mean?', answer }, apache);
    expect(v.reasons).toEqual(['not_grounded']);
    expect(v.detail).toBe('the answer is not in the chunk, not even approximately');
    // Its real definition passes.
    const real = 'any work, whether in Source or Object form, that is based on (or derived from) the Work';
    expect(validatePair({ question: 'In the Apache License, what are "Derivative Works"?', answer: real }, apache).reasons).toEqual([]);
  });

  it('locates an LLM quote and checks the answer against it', () => {
    const quote = 'Chai is an assertion library for Node.js, released in 2011.';
    expect(check('When was the Chai assertion library released?', 'it was released in 2011', {}, { quote })).toEqual({
      reasons: [],
      detail: '',
      evidence: spanOf(quote),
    });
    // A quote the chunk does not hold.
    const v = check('When was Chai released?', 'released in 2011', {}, { quote: 'Chai was first published on npm in 2011 by Jake Luer.' });
    expect(v.reasons).toEqual(['not_grounded']);
    expect(v.detail).toBe('the supporting quote “Chai was first published on npm in 2011 by Jake Luer.” is not in the chunk');
    // The answer says more than its quote: made up, even where the chunk's other words would cover it.
    const beyond = check('What is Chai?', 'a library for Python', {}, { quote });
    expect(beyond.reasons).toEqual(['not_grounded']);
    expect(beyond.detail).toBe("only 50% of the answer's content words are in its supporting quote (min 80%)");
    expect(beyond.evidence).toEqual(spanOf(quote));
    expect(check('What is Chai?', 'a library for Python', { minGroundedness: 0.5 }, { quote }).reasons).toEqual(['not_grounded']);
  });

  it('rejects answers that stop where they introduce what they should contain', () => {
    const apt = chunkOf(
      'To build the documentation you need to run: make html. Optional features include extras such as ' +
        'the PDF builder, including LaTeX, and the following plugins: graphviz and plantuml.',
    );
    const cut = (answer: string) => validatePair({ question: 'How do you build the Sphinx documentation?', answer }, apt);
    for (const a of ['To build the documentation you need to run', 'To build the documentation you need to run:', 'extras such as', 'extras such as the PDF builder, including', 'the following plugins: graphviz and']) {
      const v = cut(a);
      expect(v.reasons, a).toEqual(['incomplete_answer']);
      expect(v.detail).toBe('answer stops where it introduces what it should contain');
    }
    for (const a of ['To build the documentation you need to run: make html.', 'extras such as the PDF builder', 'graphviz and plantuml']) {
      expect(cut(a).reasons, a).toEqual([]);
    }
  });

  it('rejects answers that repeat the question', () => {
    expect(check('What is the assertion library Chai?', 'Chai').reasons).toEqual(['answer_repeats_question']);
    expect(check('Chai is an assertion library?', 'Chai is an assertion library').reasons).toContain('answer_repeats_question');
    // Whole-token containment only: "2011" is not inside "20111".
    expect(check('What happened in 20111 to Chai?', 'released in 2011').reasons).not.toContain('answer_repeats_question');
  });

  it('leaves duplicates to corpus-wide de-duplication', () => {
    expect(check('What is Chai?', 'an assertion library').reasons).toEqual([]);
    expect(check('  what IS   chai ? ', 'an assertion library').reasons).toEqual([]);
  });

  it('rejects answers that are mostly not letters', () => {
    const v = check('When was Chai released?', '2011');
    expect(v.reasons).toEqual(['non_text']);
    expect(v.detail).toBe('letters are 0% of the answer (min 50%)');
    expect(check('When was Chai released?', 'released in 2011').reasons).toEqual([]);
  });

  it('collects every reason in RejectReason order, primary first', () => {
    const v = check('The passage', '$$', { minAnswerChars: 5 });
    expect(v.reasons).toEqual(['too_short', 'not_a_question', 'not_self_contained', 'not_grounded', 'non_text']);
    expect(v.detail).toBe(
      "answer is 2 chars (min 5); question does not end with '?'; " +
        "question does not start with a question word ('the'); “the passage” points at text the reader cannot see; " +
        'the answer is not in the chunk, not even approximately; letters are 0% of the answer (min 50%)',
    );
  });
});

describe('normalizeQuestion', () => {
  it('lowercases, applies NFKC, strips punctuation and collapses whitespace', () => {
    expect(normalizeQuestion('  What does “License”\n mean?? ')).toBe('what does license mean');
    expect(normalizeQuestion('Ｗｈａｔ is ﬁle?')).toBe('what is file'); // fullwidth + ligature
    expect(normalizeQuestion('Is it 2.0?')).toBe('is it 2 0');
  });
});
