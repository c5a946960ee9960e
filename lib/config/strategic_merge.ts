/**
 * Strategic merge of config documents, as Talos's configpatcher does it:
 * documents are matched by (apiVersion, kind, name), mappings are merged
 * key by key, lists are appended (an item with the same `name` as an
 * existing one is merged into it). Directives:
 * - `key: {$patch: delete}` removes the key; a list item
 *   `{..., $patch: delete}` removes every item that has the given fields
 *   (a scalar item: `{$patch: delete, $value: X}`); a document with
 *   `$patch: delete` removes the matched document;
 * - `{$patch: replace, ...}` as a mapping replaces the mapping instead of
 *   merging it; a list whose first item is `{$patch: replace}` replaces the
 *   list with its other items.
 * Deleting what is not there changes nothing, so a patch applies twice
 * with the same result.
 * @module
 */
import { PatchError } from "./patch_error.ts";
import {
  childPath,
  cloneValue,
  deepEqual,
  isMapping,
  kindOf,
  type Mapping,
  setKey,
} from "./_values.ts";

const PATCH = "$patch";
const VALUE = "$value";

/** A document's identity: "v1alpha1" for the machine config, else "apiVersion/kind/name". */
export function documentId(doc: Mapping): string {
  if (doc.kind === undefined) return "v1alpha1";
  const name = typeof doc.name === "string" ? doc.name : "";
  return `${String(doc.apiVersion ?? "")}/${String(doc.kind)}/${name}`;
}

function directive(v: unknown, path: string): "delete" | "replace" | undefined {
  if (!isMapping(v) || !Object.hasOwn(v, PATCH)) return undefined;
  const d = v[PATCH];
  if (d === "delete" || d === "replace") return d;
  throw new PatchError(
    `unknown ${PATCH} directive ${JSON.stringify(d)} (delete or replace)`,
    childPath(path, PATCH),
  );
}

/** A patch value with its directives removed (what gets added as is). */
function plain(v: unknown, path: string): unknown {
  if (Array.isArray(v)) {
    const out: unknown[] = [];
    v.forEach((item, i) => {
      const d = directive(item, childPath(path, i));
      if (
        d === "delete" || (d === "replace" && Object.keys(item).length === 1)
      ) {
        return;
      }
      out.push(plain(item, childPath(path, i)));
    });
    return out;
  }
  if (isMapping(v)) {
    const out: Mapping = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === PATCH) continue;
      if (directive(x, childPath(path, k)) === "delete") continue;
      setKey(out, k, plain(x, childPath(path, k)));
    }
    return out;
  }
  return v;
}

function mergeMapping(left: Mapping, right: Mapping, path: string): Mapping {
  if (directive(right, path) === "replace") {
    return plain(right, path) as Mapping;
  }
  const out = cloneValue(left);
  for (const [key, value] of Object.entries(right)) {
    if (key === PATCH) continue;
    const at = childPath(path, key);
    if (directive(value, at) === "delete") {
      delete out[key];
      continue;
    }
    const current = out[key];
    setKey(
      out,
      key,
      current === undefined || current === null
        ? plain(value, at)
        : mergeValue(current, value, at),
    );
  }
  return out;
}

/** Whether `item` has every field of `selector` (scalars: equal to `$value`). */
function matches(item: unknown, selector: Mapping): boolean {
  if (Object.hasOwn(selector, VALUE)) return deepEqual(item, selector[VALUE]);
  if (!isMapping(item)) return false;
  return Object.entries(selector).every(([k, v]) =>
    k === PATCH || (Object.hasOwn(item, k) && deepEqual(item[k], v))
  );
}

function mergeList(left: unknown[], right: unknown[], path: string): unknown[] {
  let out = left.map(cloneValue);
  right.forEach((item, i) => {
    const at = childPath(path, i);
    const d = directive(item, at);
    if (d === "replace" && Object.keys(item as Mapping).length === 1) {
      if (i !== 0) {
        throw new PatchError(
          `a list item {${PATCH}: replace} must come first`,
          at,
        );
      }
      out = [];
      return;
    }
    if (d === "delete") {
      out = out.filter((x) => !matches(x, item as Mapping));
      return;
    }
    if (isMapping(item) && typeof item.name === "string") {
      const j = out.findIndex((x) => isMapping(x) && x.name === item.name);
      if (j >= 0) {
        out[j] = mergeValue(out[j], item, at);
        return;
      }
    }
    out.push(plain(item, at));
  });
  return out;
}

/** Merges `right` (the patch) into `left`; `path` names where, jq-like. */
export function mergeValue(left: unknown, right: unknown, path = ""): unknown {
  if (isMapping(left) && isMapping(right)) {
    return mergeMapping(left, right, path);
  }
  if (Array.isArray(left) && Array.isArray(right)) {
    return mergeList(left, right, path);
  }
  const structured = (v: unknown) => isMapping(v) || Array.isArray(v);
  if (structured(left) || structured(right)) {
    if (isMapping(right) && directive(right, path) === "replace") {
      return plain(right, path);
    }
    throw new PatchError(
      `cannot merge a ${kindOf(right)} into a ${kindOf(left)}`,
      path || ".",
    );
  }
  return right;
}

/**
 * Applies strategic merge patch documents to config documents and returns
 * the patched copies. A patch document with no `kind` addresses the
 * machine config (v1alpha1) document; an unmatched document is appended.
 */
export function strategicMerge(
  documents: readonly Mapping[],
  patch: readonly Mapping[],
): Mapping[] {
  const out = documents.map(cloneValue);
  for (const doc of patch) {
    const id = documentId(doc);
    const where = id === "v1alpha1" ? "" : `document ${id}`;
    const i = out.findIndex((d) => documentId(d) === id);
    const d = directive(doc, where);
    if (
      d === "delete" &&
      Object.keys(doc).every((k) =>
        k === PATCH || k === "apiVersion" || k === "kind" || k === "name"
      )
    ) {
      if (i >= 0) out.splice(i, 1);
      continue;
    }
    if (i >= 0) out[i] = mergeMapping(out[i], doc, where);
    else if (d !== "delete") out.push(plain(doc, where) as Mapping);
  }
  return out;
}
