import YAML from "yaml";
import { type ConfigProblem, ConfigValidationError } from "./errors.ts";

/** Largest YAML document accepted (machine config, client config...), in bytes. */
export const MAX_CONFIG_BYTES = 128 * 1024;
/** Deepest nesting (mappings and sequences) accepted. */
export const MAX_CONFIG_DEPTH = 32;
/** Most YAML alias uses accepted (anchors are legal, bombs are not). */
export const MAX_CONFIG_ALIASES = 16;

/** What is being parsed, for messages ("machine config", "client config"). */
interface Label {
  what: string;
  source?: string;
}

function fail(message: string, label: Label): never {
  throw new ConfigValidationError([{ path: "", message }], label.source, {
    what: label.what,
  });
}

/** Decodes bytes strictly as UTF-8, refusing invalid sequences. */
function decodeUtf8(bytes: Uint8Array, label: Label): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return fail(`${label.what} is not valid UTF-8`, label);
  }
}

/**
 * The deepest flow-collection nesting in `text`, skipping quoted scalars and
 * comments. A cheap guard before the YAML parser, which recurses per level.
 */
function flowDepth(text: string, limit: number): number {
  let depth = 0;
  let max = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (c === '"' || c === "'") {
      i++;
      while (i < n && text[i] !== c) i += text[i] === "\\" && c === '"' ? 2 : 1;
    } else if (c === "#" && (i === 0 || /\s/.test(text[i - 1]))) {
      while (i < n && text[i] !== "\n") i++;
    } else if (c === "[" || c === "{") {
      if (++depth > max) max = depth;
      if (max > limit) return max;
    } else if ((c === "]" || c === "}") && depth > 0) {
      depth--;
    }
    i++;
  }
  return max;
}

/**
 * The longest run of compact block indicators ("- - - x", "? ? x") opening a
 * line: each one nests a collection without indentation or brackets.
 */
function compactDepth(text: string, limit: number): number {
  let max = 0;
  for (const line of text.split("\n")) {
    const m = /^[ \t]*((?:[-?][ \t]+)+)/.exec(line);
    if (!m) continue;
    const n = m[1].split(/[-?]/).length - 1;
    if (n > max) max = n;
    if (max > limit) break;
  }
  return max;
}

/**
 * Duplicate keys, found in one pass (yaml's `uniqueKeys` compares every pair:
 * quadratic). Keys compare as strings, as they end up in the JS object.
 */
function duplicateKeys(
  doc: YAML.Document.Parsed,
  text: string,
): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  YAML.visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        const key = pair.key;
        let name: string;
        if (YAML.isScalar(key)) name = String(key.value);
        else if (key === null || key === undefined) name = "";
        else {
          problems.push({
            path: "",
            message: "invalid YAML: complex mapping keys are not supported",
          });
          return YAML.visit.BREAK;
        }
        if (seen.has(name)) {
          const offset = YAML.isNode(key) ? key.range?.[0] : undefined;
          problems.push({
            path: "",
            message: `duplicate key ${JSON.stringify(name.slice(0, 80))}${
              offset === undefined ? "" : " at " + lineCol(text, offset)
            }`,
          });
          if (problems.length >= 10) return YAML.visit.BREAK;
        }
        seen.add(name);
      }
      return undefined;
    },
  });
  return problems;
}

function lineCol(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  const col = offset - before.lastIndexOf("\n");
  return `line ${line}, column ${col}`;
}

function valueDepth(v: unknown, limit: number, depth = 0): number {
  if (depth > limit || typeof v !== "object" || v === null) return depth;
  let max = depth;
  for (const child of Object.values(v)) {
    max = Math.max(max, valueDepth(child, limit, depth + 1));
    if (max > limit) break;
  }
  return max;
}

function yamlProblem(err: YAML.YAMLError): ConfigProblem {
  const first = err.message.split("\n")[0].replace(
    / at line \d+, column \d+:?$/,
    "",
  );
  const pos = err.linePos?.[0];
  const where = pos ? ` at line ${pos.line}, column ${pos.col}` : "";
  const what = err.code === "DUPLICATE_KEY"
    ? "duplicate key"
    : err.code === "MULTIPLE_DOCS"
    ? "more than one YAML document"
    : "invalid YAML";
  return { path: "", message: `${what}${where}: ${first}` };
}

/** Where a YAML document comes from and what it is, for messages. */
export interface YamlSource {
  /** What is parsed: "machine config", "client config", "secrets bundle". */
  what: string;
  /** The file or label it came from. */
  source?: string;
}

/**
 * Parses one YAML document to a plain value, refusing everything unsafe:
 * too large, invalid UTF-8, nested too deeply, duplicate keys, several
 * documents, alias bombs. Throws {@linkcode ConfigValidationError}.
 */
export function parseYaml(
  input: string | Uint8Array,
  label: YamlSource,
): unknown {
  return parseYamlText(input, label, false)[0];
}

/**
 * Parses a stream of YAML documents ("---" separated) to plain values, with
 * the same limits as {@linkcode parseYaml} over the whole stream. Empty
 * documents are dropped.
 */
export function parseYamlDocuments(
  input: string | Uint8Array,
  label: YamlSource,
): unknown[] {
  return parseYamlText(input, label, true);
}

const PARSE_OPTIONS = {
  uniqueKeys: false, // checked in one pass below (yaml's check is quadratic)
  prettyErrors: true,
  logLevel: "error",
  schema: "core",
  version: "1.2",
  merge: false,
  strict: true,
  intAsBigInt: false,
} as const;

function parseYamlText(
  input: string | Uint8Array,
  label: YamlSource,
  multi: boolean,
): unknown[] {
  if (input.length > MAX_CONFIG_BYTES) {
    fail(
      `${label.what} is too large (more than ${MAX_CONFIG_BYTES} bytes)`,
      label,
    );
  }
  const text = typeof input === "string" ? input : decodeUtf8(input, label);
  if (
    flowDepth(text, MAX_CONFIG_DEPTH) > MAX_CONFIG_DEPTH ||
    compactDepth(text, MAX_CONFIG_DEPTH) > MAX_CONFIG_DEPTH
  ) {
    fail(
      `${label.what} is nested too deeply (more than ${MAX_CONFIG_DEPTH} levels)`,
      label,
    );
  }
  const opts = { what: label.what };
  let docs: YAML.Document.Parsed[];
  try {
    if (multi) {
      const all = YAML.parseAllDocuments(text, PARSE_OPTIONS);
      docs = Array.isArray(all) ? all : [];
    } else {
      docs = [YAML.parseDocument(text, PARSE_OPTIONS)];
    }
  } catch (cause) {
    throw new ConfigValidationError(
      [{ path: "", message: "invalid YAML: the parser gave up" }],
      label.source,
      { ...opts, cause },
    );
  }
  const errors = docs.flatMap((d) => d.errors);
  if (errors.length > 0) {
    throw new ConfigValidationError(
      errors.slice(0, 10).map(yamlProblem),
      label.source,
      opts,
    );
  }
  const duplicates = docs.flatMap((d) => duplicateKeys(d, text));
  if (duplicates.length > 0) {
    throw new ConfigValidationError(duplicates, label.source, opts);
  }
  const values: unknown[] = [];
  for (const doc of docs) {
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_CONFIG_ALIASES });
    } catch (cause) {
      const msg = cause instanceof Error ? cause.message : String(cause);
      const message = /alias/i.test(msg)
        ? `too many YAML aliases (more than ${MAX_CONFIG_ALIASES}): refusing a possible alias bomb`
        : `invalid YAML: ${msg}`;
      throw new ConfigValidationError([{ path: "", message }], label.source, {
        ...opts,
        cause,
      });
    }
    if (valueDepth(value, MAX_CONFIG_DEPTH) > MAX_CONFIG_DEPTH) {
      fail(
        `${label.what} is nested too deeply (more than ${MAX_CONFIG_DEPTH} levels)`,
        label,
      );
    }
    if (!multi || (value !== null && value !== undefined)) values.push(value);
  }
  return values;
}

/** Serialises a value to YAML (no anchors, no line folding). */
export function stringifyYaml(value: unknown): string {
  return YAML.stringify(value, { lineWidth: 0, aliasDuplicateObjects: false });
}

/** Reads a file of at most MAX_CONFIG_BYTES (+1 to detect "too large"). */
export async function readBoundedFile(
  path: string,
  what: string,
): Promise<Uint8Array> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (cause) {
    throw new Error(`Cannot read ${what} ${JSON.stringify(path)}`, { cause });
  }
  try {
    const info = await file.stat();
    if (!info.isFile) {
      throw new Error(
        `Cannot read ${what} ${JSON.stringify(path)}: not a file`,
      );
    }
    const buf = new Uint8Array(MAX_CONFIG_BYTES + 1);
    let size = 0;
    while (size < buf.length) {
      const n = await file.read(buf.subarray(size));
      if (n === null) break;
      size += n;
    }
    return buf.subarray(0, size);
  } finally {
    file.close();
  }
}
