/**
 * Typed search attributes of a corpus run: they make runs findable in the UI's filter and with
 * `temporal workflow list --query "CorpusOutput = '/data/out'"`. The embedded dev server
 * registers them at start; on a cluster, `corpus-qa run` registers them if it may.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const CORPUS_INPUT = defineSearchAttributeKey('CorpusInput', SearchAttributeType.KEYWORD);
export const CORPUS_OUTPUT = defineSearchAttributeKey('CorpusOutput', SearchAttributeType.KEYWORD);
export const CORPUS_GENERATOR = defineSearchAttributeKey('CorpusGenerator', SearchAttributeType.KEYWORD);
export const CORPUS_DOCUMENTS = defineSearchAttributeKey('CorpusDocuments', SearchAttributeType.INT);

export const CORPUS_SEARCH_ATTRIBUTES = [CORPUS_INPUT, CORPUS_OUTPUT, CORPUS_GENERATOR, CORPUS_DOCUMENTS];

/** As `temporal server start-dev --search-attribute` takes them. */
export function devServerSearchAttributeArgs(): string[] {
  const typeName: Record<string, string> = { KEYWORD: 'Keyword', INT: 'Int' };
  return CORPUS_SEARCH_ATTRIBUTES.flatMap((k) => ['--search-attribute', `${k.name}=${typeName[k.type]}`]);
}
