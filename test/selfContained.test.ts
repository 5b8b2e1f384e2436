import { describe, expect, it } from 'vitest';
import { selfContainedProblem } from '../activities/selfContained.js';

describe('selfContainedProblem', () => {
  it('rejects questions that point at the passage (regressions from the issue)', () => {
    const cases: Array<[string, string]> = [
      ['What does the passage say?', '“the passage” points at text the reader cannot see'],
      ['What does the text describe?', '“the text” points at text the reader cannot see'],
      ['What is the following code?', '“the following” points at text the reader cannot see'],
      ['What is the latter?', '“the latter” points at text the reader cannot see'],
      ['Which of the former is faster?', '“the former” points at text the reader cannot see'],
      ['What is shown below?', '“shown below” points at text the reader cannot see'],
      ['What does the example above print?', '“example above” points at text the reader cannot see'],
      ['According to the document, when was Chai released?', '“according to the document” points at text the reader cannot see'],
      ['What is the purpose of the code?', '“of the code” points at text the reader cannot see'],
      ['What does the code example show?', '“the code example” points at text the reader cannot see'],
      ['Who is the author?', '“the author” points at text the reader cannot see'],
      ['What does this section cover?', '“this” points at text the reader cannot see'],
      ['Why is that chapter important?', '“that chapter” points at text the reader cannot see'],
      // Found in builtin-v2's output on the Python docs: the name does not say what "that" is.
      ['In the `subprocess` module, how do you avoid that?', '“avoid that” refers to something the question does not say'],
      ['Why would you do so?', '“do so” refers to something the question does not say'],
    ];
    for (const [q, why] of cases) expect(selfContainedProblem(q), q).toBe(why);
  });

  it('rejects heading templates', () => {
    for (const q of ['What does the section “Note” say?', 'What does the section "Security considerations" say?', 'What is said about coding?', 'What is listed under “Navigation”?', 'Which plugins are listed under “Extensions”?', 'What does the chapter on logging say?']) {
      expect(selfContainedProblem(q), q).toBe('the question asks what a heading says instead of asking about its subject');
    }
  });

  it('rejects questions whose subject is only a pronoun or a generic noun', () => {
    const pronoun = (p: string) => `“${p}” has nothing in the question to refer to`;
    expect(selfContainedProblem('What is it?')).toBe(pronoun('it'));
    expect(selfContainedProblem('What does it return?')).toBe(pronoun('it'));
    expect(selfContainedProblem('What are they?')).toBe(pronoun('they'));
    expect(selfContainedProblem('Which value does it return?')).toBe(pronoun('it'));
    expect(selfContainedProblem("What's its default value?")).toBe(pronoun('its'));
    expect(selfContainedProblem('Is it thread-safe?')).toBe(pronoun('it'));
    expect(selfContainedProblem('How do you install it?')).toBe(pronoun('it'));
    expect(selfContainedProblem('What does this do?')).toBe('“this” points at text the reader cannot see');
    for (const q of ['What is each arg?', 'What does the function return?', 'What is the default value?', 'What are the other options?', 'What is the first step?', 'What is the result type?']) {
      expect(selfContainedProblem(q), q).toBe('the question names no subject the reader could know');
    }
  });

  it('accepts self-contained questions that use the same words', () => {
    for (const q of [
      'What does the `following` parameter do?',
      'What does the "latter" option of shutil.copy mean?',
      'What is the default section name in configparser?',
      'Which function returns the text of a section?',
      'In the Apache License, what does “Licensor” mean?',
      'What is the text attribute of an ElementTree element?',
      'What does the code point U+00E9 represent?',
      'Who is the author of Chai?',
      'What does it mean to distribute the Work?',
      'How long does it take to build CPython from source?',
      'Is it possible to run Chai in a browser?',
      'What does Chai do when an assertion fails and it has no message?',
      'How do you configure Temporal to retry an activity?',
      'What is a module?',
      'What are Python wheels?',
      'Which versions of Node.js does Chai 5 support?',
      'What are the two types of licenses the GPL distinguishes?',
      'What does the return value of parse() contain?',
      'What does the `this` keyword refer to in JavaScript?',
      'When was the Apache License, Version 2.0 published?',
    ]) {
      expect(selfContainedProblem(q), q).toBeUndefined();
    }
  });
});
