// Plain-value helpers for patches and diffs (private to lib/config).

/** A mapping as YAML and JSON parse it. */
export type Mapping = Record<string, unknown>;

/** Whether `v` is a plain mapping (not a list, not null, not a class instance). */
export function isMapping(v: unknown): v is Mapping {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Sets a key as an own property, so "__proto__" can never reach a prototype. */
export function setKey(obj: Mapping, key: string, value: unknown): void {
  Object.defineProperty(obj, key, {
    value,
    writable: true,
    enumerable: true,
    configurable: true,
  });
}

/** A deep copy of a plain value (mappings, lists, scalars). */
export function cloneValue<T>(v: T): T {
  if (Array.isArray(v)) return v.map(cloneValue) as T;
  if (isMapping(v)) {
    const out: Mapping = {};
    for (const [k, x] of Object.entries(v)) setKey(out, k, cloneValue(x));
    return out as T;
  }
  return v;
}

/** Deep equality of plain values (key order does not matter). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isMapping(a) && isMapping(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length &&
      ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/** What a value is, for messages ("mapping", "sequence", "string"...). */
export function kindOf(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (Array.isArray(v)) return "sequence";
  if (isMapping(v)) return "mapping";
  return typeof v;
}

/** Appends a key to a jq-like path: ".machine" + "network". */
export function childPath(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  return /^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(key)
    ? `${path}.${key}`
    : `${path}[${JSON.stringify(key)}]`;
}
