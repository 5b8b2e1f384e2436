import { describe, expect, it } from 'vitest';
import { locateEvidence, sliceCodePoints } from '../activities/evidence.js';

const text =
  'Chai is a BDD / TDD assertion library for node and the browser that can be\n' +
  '   delightfully paired with any javascript testing framework. It was first released in 2011.';

/** The located text, for readable expectations. */
const found = (needle: string, haystack = text): string | undefined => {
  const span = locateEvidence(needle, haystack);
  return span && sliceCodePoints(haystack, span.start, span.end);
};

describe('locateEvidence', () => {
  it('finds an exact quote at its code-point offsets', () => {
    expect(locateEvidence('It was first released in 2011.', text)).toEqual({ start: 137, end: 167 });
  });

  it('matches across different whitespace and line breaks', () => {
    expect(found('can be delightfully   paired')).toBe('can be\n   delightfully paired');
  });

  it('ignores case and punctuation, and returns the span of the words', () => {
    expect(found('chai is a bdd tdd ASSERTION library')).toBe('Chai is a BDD / TDD assertion library');
    expect(found('“first released in 2011”')).toBe('first released in 2011');
  });

  it('accepts a quote with a word dropped or changed, trimmed to the words it shares', () => {
    // "Node" for "node and", "JS" for "javascript": 12 of the quote's 14 words, in order.
    expect(found('assertion library for Node, the browser that can be delightfully paired with any JS testing framework')).toBe(
      'assertion library for node and the browser that can be\n   delightfully paired with any javascript testing framework',
    );
  });

  it('finds nothing for a paraphrase, a reordering, or words from all over the chunk', () => {
    expect(locateEvidence('a testing framework released for browsers', text)).toBeUndefined();
    expect(locateEvidence('released in 2011 it was first', text)).toBeUndefined();
    expect(locateEvidence('Chai is a javascript framework', text)).toBeUndefined();
    expect(locateEvidence('', text)).toBeUndefined();
    expect(locateEvidence('!!', text)).toBeUndefined();
  });

  it('counts offsets in code points when astral characters come before the span', () => {
    const emoji = '🚀🚀 Release notes 😀: version 2 ships a new parser.';
    // Three emoji before the span: code point 20 is UTF-16 index 23.
    expect(emoji.indexOf('version')).toBe(23);
    expect(locateEvidence('version 2 ships a new parser', emoji)).toEqual({ start: 20, end: 48 });
    expect(found('VERSION 2, ships a new parser', emoji)).toBe('version 2 ships a new parser');
    expect(found('notes: version 2 ships the new parser', emoji)).toBe('notes 😀: version 2 ships a new parser');
  });

  it('compares text in NFKC form, whatever the chunk it was asked about before', () => {
    expect(found('the ﬁle system', 'Backups copy the file system nightly.')).toBe('the file system');
    // A second chunk right after: nothing is left over from the first one's prepared text.
    expect(found('copy the file', 'We copy the file.')).toBe('copy the file');
  });
});
