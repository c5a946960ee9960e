/**
 * `-p/--patch` values shared by the commands that patch a machine config:
 * `@FILE` reads the patch from a file, anything else is the patch itself
 * (strategic merge YAML, or a JSON patch as JSON or a YAML list).
 * @module
 */
import {
  type ConfigPatch,
  ConfigValidationError,
  loadConfigPatch,
  PatchError,
  readBoundedFile,
} from "../../lib/config/mod.ts";

/** Loads every `-p` value in order; throws an Error naming the bad one. */
export async function loadPatchFlags(
  values: readonly string[],
): Promise<ConfigPatch[]> {
  const patches: ConfigPatch[] = [];
  for (const value of values) {
    let text: string;
    let source: string;
    if (value.startsWith("@")) {
      source = value.slice(1);
      text = new TextDecoder().decode(await readBoundedFile(source, "patch"));
    } else {
      source = "inline patch";
      text = value;
    }
    try {
      patches.push(loadConfigPatch(text, source));
    } catch (err) {
      if (err instanceof PatchError || err instanceof ConfigValidationError) {
        throw new Error(err.message, { cause: err });
      }
      throw err;
    }
  }
  return patches;
}

/** Whether an error is a patch or validation problem (printed, exit 1). */
export function isConfigProblem(err: unknown): boolean {
  return err instanceof PatchError || err instanceof ConfigValidationError;
}
