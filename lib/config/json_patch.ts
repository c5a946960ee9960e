/**
 * RFC 6902 JSON patch over plain values (what YAML and JSON parse to):
 * add, remove, replace, move, copy and test, with RFC 6901 pointers. The
 * operations apply to a copy, all or nothing.
 * @module
 */
import { PatchError } from "./patch_error.ts";
import {
  cloneValue,
  deepEqual,
  isMapping,
  type Mapping,
  setKey,
} from "./_values.ts";

/** The operations RFC 6902 defines. */
export type JsonPatchOp =
  | "add"
  | "remove"
  | "replace"
  | "move"
  | "copy"
  | "test";

const OPS: readonly JsonPatchOp[] = [
  "add",
  "remove",
  "replace",
  "move",
  "copy",
  "test",
];

/** One JSON patch operation. */
export interface JsonPatchOperation {
  /** What to do. */
  op: JsonPatchOp;
  /** The target, an RFC 6901 pointer ("/machine/network/hostname"). */
  path: string;
  /** The source of move and copy. */
  from?: string;
  /** The value of add, replace and test. */
  value?: unknown;
  /**
   * Which document of a multi-document config the operation addresses:
   * "v1alpha1" (the default), "Kind" or "Kind/name". An extension member,
   * which RFC 6902 lets other implementations ignore.
   */
  document?: string;
}

const MEMBERS = ["op", "path", "from", "value", "document"];

/**
 * Checks that `raw` is a list of JSON patch operations; throws
 * {@linkcode PatchError} naming the operation and member that is wrong.
 */
export function toJsonPatch(raw: unknown): JsonPatchOperation[] {
  if (!Array.isArray(raw)) {
    throw new PatchError("a JSON patch is a list of operations", "");
  }
  return raw.map((item, i) => {
    const where = `[${i}]`;
    if (!isMapping(item)) {
      throw new PatchError("a JSON patch operation is a mapping", where);
    }
    for (const key of Object.keys(item)) {
      if (!MEMBERS.includes(key)) {
        throw new PatchError(
          `unknown member ${JSON.stringify(key)} (${MEMBERS.join(", ")})`,
          `${where}.${key}`,
        );
      }
    }
    const op = item.op;
    if (typeof op !== "string" || !OPS.includes(op as JsonPatchOp)) {
      throw new PatchError(
        `"op" must be one of ${OPS.join(", ")}, got ${JSON.stringify(op)}`,
        `${where}.op`,
      );
    }
    if (typeof item.path !== "string") {
      throw new PatchError('"path" must be a string', `${where}.path`);
    }
    parsePointer(item.path, `${where}.path`);
    const out: JsonPatchOperation = { op: op as JsonPatchOp, path: item.path };
    if (op === "move" || op === "copy") {
      if (typeof item.from !== "string") {
        throw new PatchError(`"${op}" needs a string "from"`, `${where}.from`);
      }
      parsePointer(item.from, `${where}.from`);
      out.from = item.from;
    }
    if (op === "add" || op === "replace" || op === "test") {
      if (!("value" in item)) {
        throw new PatchError(`"${op}" needs a "value"`, where);
      }
      out.value = item.value;
    }
    if (item.document !== undefined) {
      if (typeof item.document !== "string" || item.document === "") {
        throw new PatchError(
          '"document" must be "v1alpha1", "Kind" or "Kind/name"',
          `${where}.document`,
        );
      }
      out.document = item.document;
    }
    return out;
  });
}

/** Splits an RFC 6901 pointer into reference tokens; "" is the whole document. */
export function parsePointer(pointer: string, where = ""): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) {
    throw new PatchError(
      `pointer ${JSON.stringify(pointer)} must be empty or start with "/"`,
      where,
    );
  }
  return pointer.slice(1).split("/").map((token) => {
    if (/~[^01]|~$/.test(token)) {
      throw new PatchError(
        `pointer ${JSON.stringify(pointer)}: "~" must be followed by 0 or 1`,
        where,
      );
    }
    const key = token.replaceAll("~1", "/").replaceAll("~0", "~");
    if (key === "__proto__") {
      throw new PatchError(
        `pointer ${JSON.stringify(pointer)}: key "__proto__" is not allowed`,
        where,
      );
    }
    return key;
  });
}

function describe(op: JsonPatchOperation, index: number): string {
  return `operation ${index} (${op.op} ${JSON.stringify(op.path)})`;
}

function arrayIndex(
  token: string,
  length: number,
  adding: boolean,
  fail: (m: string) => never,
): number {
  if (adding && token === "-") return length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) {
    fail(`${JSON.stringify(token)} is not an array index`);
  }
  const i = Number(token);
  if (i > length || (!adding && i === length)) {
    fail(`index ${i} is out of range (the array has ${length} items)`);
  }
  return i;
}

/** Walks to the parent of the target; `fail` throws. */
function parentOf(
  doc: unknown,
  tokens: string[],
  fail: (m: string) => never,
): unknown {
  let node = doc;
  for (let i = 0; i < tokens.length - 1; i++) {
    const t = tokens[i];
    if (Array.isArray(node)) {
      node = node[arrayIndex(t, node.length, false, fail)];
    } else if (isMapping(node) && Object.hasOwn(node, t)) {
      node = node[t];
    } else {
      fail(
        `${
          JSON.stringify("/" + tokens.slice(0, i + 1).join("/"))
        } does not exist`,
      );
    }
  }
  return node;
}

function getAt(
  doc: unknown,
  tokens: string[],
  fail: (m: string) => never,
): unknown {
  if (tokens.length === 0) return doc;
  const parent = parentOf(doc, tokens, fail);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) {
    return parent[arrayIndex(last, parent.length, false, fail)];
  }
  if (isMapping(parent) && Object.hasOwn(parent, last)) return parent[last];
  return fail("the target does not exist");
}

function addAt(
  doc: unknown,
  tokens: string[],
  value: unknown,
  fail: (m: string) => never,
): unknown {
  if (tokens.length === 0) return value;
  const parent = parentOf(doc, tokens, fail);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) {
    parent.splice(arrayIndex(last, parent.length, true, fail), 0, value);
  } else if (isMapping(parent)) {
    setKey(parent, last, value);
  } else {
    fail("the parent of the target is neither a mapping nor a list");
  }
  return doc;
}

function removeAt(
  doc: unknown,
  tokens: string[],
  fail: (m: string) => never,
): unknown {
  if (tokens.length === 0) return fail("cannot remove the whole document");
  const parent = parentOf(doc, tokens, fail);
  const last = tokens[tokens.length - 1];
  if (Array.isArray(parent)) {
    parent.splice(arrayIndex(last, parent.length, false, fail), 1);
  } else if (isMapping(parent) && Object.hasOwn(parent, last)) {
    delete (parent as Mapping)[last];
  } else {
    fail("the target does not exist");
  }
  return doc;
}

/**
 * Applies JSON patch operations to one document and returns the patched
 * copy; `doc` is not changed. Throws {@linkcode PatchError} naming the
 * operation that failed.
 */
export function applyJsonPatch(
  doc: unknown,
  operations: readonly JsonPatchOperation[],
): unknown {
  let out = cloneValue(doc);
  operations.forEach((op, index) => {
    const fail = (message: string): never => {
      throw new PatchError(`${describe(op, index)}: ${message}`, op.path);
    };
    const path = parsePointer(op.path, op.path);
    switch (op.op) {
      case "add":
        out = addAt(out, path, cloneValue(op.value), fail);
        break;
      case "remove":
        out = removeAt(out, path, fail);
        break;
      case "replace":
        getAt(out, path, fail);
        if (path.length === 0) out = cloneValue(op.value);
        else {
          out = removeAt(out, path, fail);
          out = addAt(out, path, cloneValue(op.value), fail);
        }
        break;
      case "move": {
        const from = parsePointer(op.from!, op.from!);
        if (
          from.length < path.length &&
          from.every((t, i) => path[i] === t)
        ) {
          fail(`cannot move ${JSON.stringify(op.from)} into itself`);
        }
        const value = getAt(out, from, fail);
        out = removeAt(out, from, fail);
        out = addAt(out, path, value, fail);
        break;
      }
      case "copy": {
        const value = getAt(out, parsePointer(op.from!, op.from!), fail);
        out = addAt(out, path, cloneValue(value), fail);
        break;
      }
      case "test":
        if (!deepEqual(getAt(out, path, fail), op.value)) {
          fail(`the value is not ${JSON.stringify(op.value)}`);
        }
        break;
    }
  });
  return out;
}
