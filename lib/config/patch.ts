/**
 * Config patches: loading (strategic merge YAML, or an RFC 6902 JSON patch
 * written as JSON or as a YAML list of operations) and applying them, in
 * order, to a single- or multi-document config.
 * @module
 */
import { ConfigValidationError } from "./errors.ts";
import type { MachineConfig } from "./types.ts";
import { toMachineConfig, validateMachineConfig } from "./validate.ts";
import {
  applyJsonPatch,
  type JsonPatchOperation,
  toJsonPatch,
} from "./json_patch.ts";
import { PatchError } from "./patch_error.ts";
import { documentId, strategicMerge } from "./strategic_merge.ts";
import { isMapping, type Mapping } from "./_values.ts";
import { parseYamlDocuments, stringifyYaml } from "./yaml.ts";

/** A loaded config patch. */
export type ConfigPatch =
  | { type: "strategic"; documents: Mapping[] }
  | { type: "json"; operations: JsonPatchOperation[] };

/**
 * Reads a patch. Text that starts with "[" is a JSON patch in JSON; a YAML
 * list (of mappings with "op") is a JSON patch too; YAML mappings are
 * strategic merge documents. Throws {@linkcode PatchError} or
 * {@linkcode ConfigValidationError} (bad YAML) saying what and where.
 */
export function loadConfigPatch(text: string, source = "patch"): ConfigPatch {
  const label = (m: string) => `${source}: ${m}`;
  if (text.trimStart().startsWith("[")) {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (cause) {
      // A YAML flow list is also fine; only fall back when JSON fails.
      try {
        raw = parseYamlDocuments(text, { what: "patch", source })[0];
      } catch {
        throw new PatchError(
          label(`not a JSON patch: ${(cause as Error).message}`),
          "",
          { cause },
        );
      }
    }
    return jsonPatch(raw, label);
  }
  const docs = parseYamlDocuments(text, { what: "patch", source });
  if (docs.length === 0) throw new PatchError(label("the patch is empty"), "");
  if (docs.length === 1 && Array.isArray(docs[0])) {
    return jsonPatch(docs[0], label);
  }
  docs.forEach((d, i) => {
    if (!isMapping(d)) {
      throw new PatchError(
        label(
          `document ${
            i + 1
          } is not a mapping (a strategic merge patch is YAML mappings, a JSON patch is a list of operations)`,
        ),
        "",
      );
    }
  });
  return { type: "strategic", documents: docs as Mapping[] };
}

function jsonPatch(raw: unknown, label: (m: string) => string): ConfigPatch {
  try {
    return { type: "json", operations: toJsonPatch(raw) };
  } catch (err) {
    if (err instanceof PatchError) {
      throw new PatchError(label(err.message), err.path, { cause: err });
    }
    throw err;
  }
}

function selectDocument(docs: Mapping[], selector: string | undefined): number {
  const want = selector ?? "v1alpha1";
  const found: number[] = [];
  docs.forEach((d, i) => {
    const id = documentId(d);
    if (want === "v1alpha1") {
      if (id === "v1alpha1") found.push(i);
      return;
    }
    const [kind, name] = want.split("/", 2);
    if (d.kind === kind && (name === undefined || d.name === name)) {
      found.push(i);
    }
  });
  if (found.length === 1) return found[0];
  if (found.length === 0 && docs.length === 1 && selector === undefined) {
    return 0;
  }
  throw new PatchError(
    found.length === 0
      ? `no document ${JSON.stringify(want)} in the config`
      : `${found.length} documents match ${
        JSON.stringify(want)
      }: name one as "Kind/name"`,
    "",
  );
}

/**
 * Applies patches in order to config documents and returns the patched
 * copies. A JSON patch operation addresses the v1alpha1 document (or the
 * only one) unless its `document` names another.
 */
export function applyConfigPatches(
  documents: readonly unknown[],
  patches: readonly ConfigPatch[],
): Mapping[] {
  let docs = documents.map((d, i) => {
    if (!isMapping(d)) {
      throw new PatchError(`config document ${i + 1} is not a mapping`, "");
    }
    return d;
  });
  for (const patch of patches) {
    if (patch.type === "strategic") {
      docs = strategicMerge(docs, patch.documents);
      continue;
    }
    docs = docs.slice();
    for (const op of patch.operations) {
      const i = selectDocument(docs, op.document);
      const patched = applyJsonPatch(docs[i], [op]);
      if (!isMapping(patched)) {
        throw new PatchError(
          "a JSON patch must leave the document a mapping",
          op.path,
        );
      }
      docs[i] = patched;
    }
  }
  return docs;
}

/** Parses a config (one or more YAML documents) into plain documents. */
export function parseConfigDocuments(
  text: string | Uint8Array,
  source?: string,
): unknown[] {
  return parseYamlDocuments(text, { what: "machine config", source });
}

/** Serialises config documents as one YAML stream ("---" between documents). */
export function stringifyConfigDocuments(
  documents: readonly unknown[],
): string {
  return documents.map((d) => stringifyYaml(d)).join("---\n");
}

/**
 * Patches config text: parse, apply every patch, serialise. Throws
 * {@linkcode PatchError} or {@linkcode ConfigValidationError}.
 */
export function patchConfigText(
  text: string | Uint8Array,
  patches: readonly ConfigPatch[],
  source?: string,
): string {
  return stringifyConfigDocuments(
    applyConfigPatches(parseConfigDocuments(text, source), patches),
  );
}

/**
 * The machine config that patched documents make: exactly one v1alpha1
 * document that validates. Throws {@linkcode ConfigValidationError} with
 * every problem and its path.
 */
export function machineConfigFromDocuments(
  documents: readonly unknown[],
  source?: string,
): MachineConfig {
  if (documents.length !== 1) {
    const ids = documents.map((d) => isMapping(d) ? documentId(d) : "?");
    throw new ConfigValidationError([{
      path: "",
      message:
        `a machine config is one v1alpha1 document, got ${documents.length}${
          ids.length > 0 ? ` (${ids.join(", ")})` : ""
        }`,
    }], source);
  }
  const problems = validateMachineConfig(documents[0]);
  if (problems.length > 0) throw new ConfigValidationError(problems, source);
  return toMachineConfig(documents[0] as Mapping);
}
