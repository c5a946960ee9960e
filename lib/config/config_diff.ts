/**
 * A unified diff of two configs with every secret redacted on both sides,
 * for dry runs, history and edits.
 * @module
 */
import { REDACTED } from "./redact.ts";
import { cloneValue, isMapping, type Mapping } from "./_values.ts";
import { documentId } from "./strategic_merge.ts";
import { stringifyYaml } from "./yaml.ts";

/** Lines of context around each change in a diff. */
const CONTEXT = 3;

type Edit = { op: " " | "-" | "+"; line: string };

/** The shortest edit script of two line lists (Myers' O(ND) algorithm). */
function editScript(a: string[], b: string[]): Edit[] {
  const n = a.length;
  const m = b.length;
  const max = n + m;
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  outer: for (let d = 0; d <= max; d++) {
    trace.push(v.slice());
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[offset + k - 1] < v[offset + k + 1])
        ? v[offset + k + 1]
        : v[offset + k - 1] + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x++;
        y++;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) break outer;
    }
  }
  const edits: Edit[] = [];
  let x = n;
  let y = m;
  for (let d = trace.length - 1; d >= 0 && (x > 0 || y > 0); d--) {
    const vd = trace[d];
    const k = x - y;
    const down = k === -d ||
      (k !== d && vd[offset + k - 1] < vd[offset + k + 1]);
    const prevK = down ? k + 1 : k - 1;
    const prevX = d === 0 ? 0 : vd[offset + prevK];
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      edits.push({ op: " ", line: a[--x] });
      y--;
    }
    if (d === 0) break;
    if (down) edits.push({ op: "+", line: b[--y] });
    else edits.push({ op: "-", line: a[--x] });
  }
  while (x > 0 && y > 0) {
    edits.push({ op: " ", line: a[--x] });
    y--;
  }
  return edits.reverse();
}

function lines(text: string): string[] {
  if (text === "") return [];
  const out = text.split("\n");
  if (out[out.length - 1] === "") out.pop();
  return out;
}

/** Options of {@linkcode unifiedDiff}. */
export interface DiffOptions {
  /** The old side's name ("a/config"). */
  oldLabel?: string;
  /** The new side's name ("b/config"). */
  newLabel?: string;
}

/** A unified diff of two texts, "" when they are equal. */
export function unifiedDiff(
  oldText: string,
  newText: string,
  options: DiffOptions = {},
): string {
  const a = lines(oldText);
  const b = lines(newText);
  const edits = editScript(a, b);
  if (edits.every((e) => e.op === " ")) return "";
  const out = [
    `--- ${options.oldLabel ?? "a/config"}`,
    `+++ ${options.newLabel ?? "b/config"}`,
  ];
  let i = 0;
  while (i < edits.length) {
    if (edits[i].op === " ") {
      i++;
      continue;
    }
    // A hunk: from CONTEXT lines before this change to CONTEXT after the last
    // change that is at most 2*CONTEXT unchanged lines further.
    const start = Math.max(0, i - CONTEXT);
    let end = i;
    let gap = 0;
    for (let j = i; j < edits.length; j++) {
      if (edits[j].op === " ") {
        if (++gap > 2 * CONTEXT) break;
      } else {
        gap = 0;
        end = j;
      }
    }
    const stop = Math.min(edits.length, end + 1 + CONTEXT);
    let oldStart = 0;
    let newStart = 0;
    for (let j = 0; j < start; j++) {
      if (edits[j].op !== "+") oldStart++;
      if (edits[j].op !== "-") newStart++;
    }
    const hunk = edits.slice(start, stop);
    const oldLen = hunk.filter((e) => e.op !== "+").length;
    const newLen = hunk.filter((e) => e.op !== "-").length;
    out.push(
      `@@ -${oldLen === 0 ? oldStart : oldStart + 1},${oldLen} +${
        newLen === 0 ? newStart : newStart + 1
      },${newLen} @@`,
    );
    for (const e of hunk) out.push(`${e.op}${e.line}`);
    i = stop;
  }
  return out.join("\n") + "\n";
}

/** A config document with its secrets replaced by "******". */
export function redactDocument(doc: unknown): unknown {
  if (!isMapping(doc) || documentId(doc) !== "v1alpha1") return doc;
  const copy = cloneValue(doc);
  const machine = copy.machine;
  if (isMapping(machine)) {
    if (typeof machine.token === "string") machine.token = REDACTED;
    const ca = machine.ca;
    if (isMapping(ca) && typeof ca.key === "string") {
      (ca as Mapping).key = REDACTED;
    }
  }
  return copy;
}

/**
 * The diff of two configs (plain documents), secrets redacted on both
 * sides: "" when they are the same. A secret that changed shows as an
 * unchanged "******" line, so a changed token or CA key is named in a
 * note line instead.
 */
export function configDiff(
  oldDocs: readonly unknown[],
  newDocs: readonly unknown[],
): string {
  const text = (docs: readonly unknown[]) =>
    docs.map((d) => stringifyYaml(redactDocument(d))).join("---\n");
  const diff = unifiedDiff(text(oldDocs), text(newDocs));
  const secretOf = (docs: readonly unknown[]) => {
    const doc = docs.find((d) => isMapping(d) && documentId(d) === "v1alpha1");
    const machine = isMapping(doc) ? doc.machine : undefined;
    const ca = isMapping(machine) ? machine.ca : undefined;
    return {
      token: isMapping(machine) ? machine.token : undefined,
      key: isMapping(ca) ? ca.key : undefined,
    };
  };
  const before = secretOf(oldDocs);
  const after = secretOf(newDocs);
  const notes: string[] = [];
  if (before.token !== after.token) notes.push("# machine.token changed");
  if (before.key !== after.key) notes.push("# machine.ca.key changed");
  if (notes.length === 0) return diff;
  return diff + notes.join("\n") + "\n";
}
