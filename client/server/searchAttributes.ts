/** Registering corpus-qa's search attributes on the server a run starts on. */
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { CORPUS_SEARCH_ATTRIBUTES } from '../../workflows/searchAttributes.js';

const searchAttributesReady = new WeakMap<Client, boolean>();

/**
 * Makes sure the server knows our search attributes: the embedded server registers them at
 * start; on a cluster we try to add them (needs the operator API; Temporal Cloud manages them
 * in its UI instead). Without them, runs still work, only without those filters.
 */
export async function ensureSearchAttributes(client: Client): Promise<boolean> {
  const cached = searchAttributesReady.get(client);
  if (cached !== undefined) return cached;
  const wanted = Object.fromEntries(CORPUS_SEARCH_ATTRIBUTES.map((k) => [k.name, k.type]));
  let ok = false;
  try {
    const { customAttributes } = await client.connection.operatorService.listSearchAttributes({ namespace: client.options.namespace });
    const missing = Object.keys(wanted).filter((name) => !(name in (customAttributes ?? {})));
    if (missing.length > 0) {
      const { IndexedValueType } = proto.temporal.api.enums.v1; // CommonJS package: no named ESM exports
      const enumOf = { KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD, INT: IndexedValueType.INDEXED_VALUE_TYPE_INT };
      await client.connection.operatorService.addSearchAttributes({
        namespace: client.options.namespace,
        searchAttributes: Object.fromEntries(missing.map((name) => [name, enumOf[wanted[name] as 'KEYWORD' | 'INT']])),
      });
    }
    ok = true;
  } catch {
    ok = false;
  }
  searchAttributesReady.set(client, ok);
  return ok;
}
