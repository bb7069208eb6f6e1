import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { FERRY_SEARCH_ATTRIBUTES } from '../workflows/ids';

const { IndexedValueType } = temporal.api.enums.v1;
const VALUE_TYPES = {
  KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  INT: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  KEYWORD_LIST: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD_LIST,
} as const;
const CLI_TYPES = { KEYWORD: 'Keyword', INT: 'Int', KEYWORD_LIST: 'KeywordList' } as const;

type FerryAttributeType = keyof typeof VALUE_TYPES;
const typeOf = (t: string): FerryAttributeType => t as FerryAttributeType;

/** `temporal server start-dev` arguments that register Ferry's search attributes. */
export function devServerSearchAttributeArgs(): string[] {
  return FERRY_SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=${CLI_TYPES[typeOf(key.type)]}`]);
}


/** Registers Ferry's search attributes on an existing cluster; those already there are kept. */
export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<void> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  await addSearchAttributes(connection, namespace, FERRY_SEARCH_ATTRIBUTES.filter((key) => !(key.name in customAttributes)));
}

/** Registers search attributes without listing first (the time-skipping test server cannot list). */
export async function addSearchAttributes(
  connection: Connection,
  namespace: string,
  keys: readonly (typeof FERRY_SEARCH_ATTRIBUTES)[number][] = FERRY_SEARCH_ATTRIBUTES,
): Promise<void> {
  if (keys.length === 0) return;
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(keys.map((key) => [key.name, VALUE_TYPES[typeOf(key.type)]])),
  });
}
