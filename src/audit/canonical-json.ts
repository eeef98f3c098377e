/**
 * Canonical JSON in the style of RFC 8785 (JCS): object members sorted by key
 * (UTF-16 code units, as JavaScript compares strings), no whitespace, strings
 * and numbers serialized as ECMAScript's JSON.stringify does (which is what
 * JCS specifies for them). The same value always yields the same text, so a
 * hash over it is reproducible by anyone holding the value.
 *
 * Refuses what JSON cannot express exactly: non-finite numbers, undefined
 * inside arrays, functions, symbols, bigints. `undefined` object members are
 * omitted (as JSON.stringify does).
 */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue | undefined };

export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonical JSON cannot express a non-finite number');
      // JSON.stringify prints -0 as 0 and uses the shortest round-trip form, as JCS requires.
      return JSON.stringify(value);
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        return `[${value
          .map((item) => {
            if (item === undefined) throw new TypeError('canonical JSON cannot express undefined in an array');
            return canonicalJson(item);
          })
          .join(',')}]`;
      }
      if (value instanceof Date) return JSON.stringify(value.toISOString());
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record)
        .filter((k) => record[k] !== undefined)
        .sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(record[k])}`).join(',')}}`;
    }
    default:
      throw new TypeError(`canonical JSON cannot express a ${typeof value}`);
  }
}
