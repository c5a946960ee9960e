import YAML from "yaml";
import { type ConfigProblem, ConfigValidationError } from "./errors.ts";
import type { MachineConfig } from "./types.ts";
import { toMachineConfig, validateMachineConfig } from "./validate.ts";

/** Largest machine config accepted, in bytes. */
export const MAX_CONFIG_BYTES = 128 * 1024;
/** Deepest nesting (mappings and sequences) accepted. */
export const MAX_CONFIG_DEPTH = 32;
/** Most YAML alias uses accepted (anchors are legal, bombs are not). */
export const MAX_CONFIG_ALIASES = 16;

function fail(message: string, source?: string): never {
  throw new ConfigValidationError([{ path: "", message }], source);
}

/** Decodes bytes strictly as UTF-8, refusing invalid sequences. */
function decodeUtf8(bytes: Uint8Array, source?: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return fail("machine config is not valid UTF-8", source);
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

/** Parses YAML text to a plain value, refusing everything unsafe. */
function parseYaml(text: string, source?: string): unknown {
  if (text.length > MAX_CONFIG_BYTES) {
    fail(
      `machine config is too large (more than ${MAX_CONFIG_BYTES} bytes)`,
      source,
    );
  }
  if (
    flowDepth(text, MAX_CONFIG_DEPTH) > MAX_CONFIG_DEPTH ||
    compactDepth(text, MAX_CONFIG_DEPTH) > MAX_CONFIG_DEPTH
  ) {
    fail(
      `machine config is nested too deeply (more than ${MAX_CONFIG_DEPTH} levels)`,
      source,
    );
  }
  let doc: YAML.Document.Parsed;
  try {
    doc = YAML.parseDocument(text, {
      uniqueKeys: false, // checked in one pass below
      prettyErrors: true,
      logLevel: "error",
      schema: "core",
      version: "1.2",
      merge: false,
      strict: true,
      intAsBigInt: false,
    });
  } catch (cause) {
    throw new ConfigValidationError(
      [{
        path: "",
        message: "invalid YAML: the parser gave up",
      }],
      source,
      { cause },
    );
  }
  if (doc.errors.length > 0) {
    throw new ConfigValidationError(
      doc.errors.slice(0, 10).map(yamlProblem),
      source,
    );
  }
  const duplicates = duplicateKeys(doc, text);
  if (duplicates.length > 0) {
    throw new ConfigValidationError(duplicates, source);
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_CONFIG_ALIASES });
  } catch (cause) {
    const msg = cause instanceof Error ? cause.message : String(cause);
    const message = /alias/i.test(msg)
      ? `too many YAML aliases (more than ${MAX_CONFIG_ALIASES}): refusing a possible alias bomb`
      : `invalid YAML: ${msg}`;
    throw new ConfigValidationError([{ path: "", message }], source, { cause });
  }
  if (valueDepth(value, MAX_CONFIG_DEPTH) > MAX_CONFIG_DEPTH) {
    fail(
      `machine config is nested too deeply (more than ${MAX_CONFIG_DEPTH} levels)`,
      source,
    );
  }
  return value;
}

/**
 * Parses and validates a v1alpha1 machine config. Throws
 * {@linkcode ConfigValidationError} listing every problem.
 */
export function parseMachineConfig(
  input: string | Uint8Array,
  source?: string,
): MachineConfig {
  if (typeof input !== "string" && input.length > MAX_CONFIG_BYTES) {
    fail(
      `machine config is too large (more than ${MAX_CONFIG_BYTES} bytes)`,
      source,
    );
  }
  const text = typeof input === "string" ? input : decodeUtf8(input, source);
  const raw = parseYaml(text, source);
  const problems = validateMachineConfig(raw);
  if (problems.length > 0) throw new ConfigValidationError(problems, source);
  return toMachineConfig(raw as Record<string, unknown>);
}

/** Reads, parses and validates a machine config file (size-capped). */
export async function loadMachineConfig(path: string): Promise<MachineConfig> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (cause) {
    throw new Error(`Cannot read machine config ${JSON.stringify(path)}`, {
      cause,
    });
  }
  try {
    const info = await file.stat();
    if (!info.isFile) {
      throw new Error(
        `Cannot read machine config ${JSON.stringify(path)}: not a file`,
      );
    }
    const buf = new Uint8Array(MAX_CONFIG_BYTES + 1);
    let size = 0;
    while (size < buf.length) {
      const n = await file.read(buf.subarray(size));
      if (n === null) break;
      size += n;
    }
    return parseMachineConfig(buf.subarray(0, size), path);
  } finally {
    file.close();
  }
}

/** Serialises a machine config to YAML (keys in schema order). */
export function stringifyMachineConfig(config: MachineConfig): string {
  return YAML.stringify(config, { lineWidth: 0, aliasDuplicateObjects: false });
}
