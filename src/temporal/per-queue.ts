/** The one `T` of a queue in `map`, made on first use. */
export function perQueue<T>(map: Map<string, T>, namespace: string, queue: string, make: () => T): T {
  const key = `${namespace}/${queue}`;
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}
