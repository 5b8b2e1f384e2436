import { describe, expect, it } from 'vitest';
import { normalizeQuestion, validatePair } from '../activities/validate.js';
import type { Chunk } from '../schemas/index.js';

const chunk: Chunk = {
  chunkId: 'doc-0000',
  index: 0,
  charStart: 0,
  charEnd: 120,
  text:
    '"License" shall mean the terms and conditions for use, reproduction, and distribution. ' +
    'Chai is an assertion library for Node.js, released in 2011.',
};

const check = (question: string, answer: string, seen = new Set<string>(), limits = {}) =>
  validatePair({ question, answer }, chunk, seen, limits);

describe('validatePair', () => {
  it('passes a good grounded pair', () => {
    const v = check('What does “License” mean?', 'the terms and conditions for use, reproduction, and distribution');
    expect(v).toEqual({ reasons: [], detail: '' });
  });

  it('flags empty fields without also calling them too short', () => {
    const v = check('   ', '');
    expect(v.reasons).toEqual(['empty']);
    expect(v.detail).toBe('question is empty; answer is empty');
  });

  it('flags too short and too long, with the numbers in the detail', () => {
    expect(check('What?', 'an assertion library').reasons).toEqual(['too_short']);
    const v = check('What is Chai?', 'an assertion library', new Set(), { minAnswerChars: 30 });
    expect(v.reasons).toEqual(['too_short']);
    expect(v.detail).toBe('answer is 20 chars (min 30)');
    const long = check(`What is ${'very '.repeat(120)}Chai?`, 'an assertion library');
    expect(long.reasons).toContain('too_long');
    expect(long.detail).toMatch(/question is \d+ chars \(max 500\)/);
  });

  it('counts code points, not UTF-16 units', () => {
    // 4 emoji are 8 UTF-16 units but 4 characters: below a minimum of 5.
    expect(check('What is Chai?', '😀😀😀😀', new Set(), { minAnswerChars: 5 }).reasons).toContain('too_short');
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

  it('measures groundedness on word tokens', () => {
    const v = check('What is Chai?', 'a mocking framework for Python');
    expect(v.reasons).toEqual(['not_grounded']);
    expect(v.detail).toMatch(/only \d+% of answer words are in the chunk \(min 80%\)/);
    // Case and punctuation do not matter.
    expect(check('What is Chai?', 'An ASSERTION library (for Node.js)!').reasons).toEqual([]);
    // The threshold is configurable.
    expect(check('What is Chai?', 'an assertion library for Python', new Set(), { minGroundedness: 0.5 }).reasons).toEqual([]);
  });

  it('rejects answers that repeat the question', () => {
    expect(check('What is the assertion library Chai?', 'Chai').reasons).toEqual(['answer_repeats_question']);
    expect(check('Chai is an assertion library?', 'an assertion library chai is').reasons).toContain('answer_repeats_question');
    // Whole-token containment only: "2011" is not inside "20111".
    expect(check('What happened in 20111 to Chai?', 'released in 2011').reasons).not.toContain('answer_repeats_question');
  });

  it('detects duplicates by normalized question and records new ones', () => {
    const seen = new Set<string>();
    expect(check('What is Chai?', 'an assertion library', seen).reasons).toEqual([]);
    expect(seen.has('what is chai')).toBe(true);
    const v = check('  what IS   chai ? ', 'an assertion library', seen);
    expect(v.reasons).toEqual(['duplicate']);
    expect(v.detail).toBe('question was already asked');
  });

  it('rejects answers that are mostly not letters', () => {
    const v = check('When was Chai released?', '2011');
    expect(v.reasons).toEqual(['non_text']);
    expect(v.detail).toBe('letters are 0% of the answer (min 50%)');
    expect(check('When was Chai released?', 'released in 2011').reasons).toEqual([]);
  });

  it('collects every reason in RejectReason order, primary first', () => {
    const seen = new Set<string>([normalizeQuestion('Chai')]);
    const v = check('Chai', '$$', seen, { minAnswerChars: 5 });
    expect(v.reasons).toEqual(['too_short', 'not_a_question', 'duplicate', 'non_text']);
    expect(v.detail).toBe(
      "question is 4 chars (min 10); answer is 2 chars (min 5); question does not end with '?'; " +
        "question does not start with a question word ('chai'); question was already asked; " +
        'letters are 0% of the answer (min 50%)',
    );
  });
});

describe('normalizeQuestion', () => {
  it('lowercases, applies NFKC, strips punctuation and collapses whitespace', () => {
    expect(normalizeQuestion('  What does “License”\n mean?? ')).toBe('what does license mean');
    expect(normalizeQuestion('Ｗｈａｔ is ﬁle?')).toBe('what is file'); // fullwidth + ligature
    expect(normalizeQuestion('Is it 2.0?')).toBe('is it 2 0');
  });

  it('lets a later good pair keep a question that an earlier rejected pair asked', () => {
    const seen = new Set<string>();
    expect(check('What is Chai?', 'zzz qqq unrelated words', seen).reasons).toContain('not_grounded');
    expect(check('What is Chai?', 'an assertion library', seen).reasons).toEqual([]);
    expect(check('What is Chai?', 'an assertion library', seen).reasons).toEqual(['duplicate']);
  });
});
