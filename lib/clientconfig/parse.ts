import {
  type ConfigProblem,
  ConfigValidationError,
  parseYaml,
  readBoundedFile,
  stringifyYaml,
} from "../config/mod.ts";
import { writeFileAtomic } from "../certdir/mod.ts";
import type { ClientConfig, ClientContext } from "./types.ts";

const WHAT = "client config";
const B64 = /^[A-Za-z0-9+/]+={0,2}$/;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._@:-]{0,127}$/;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) &&
    Object.getPrototypeOf(v) === Object.prototype;
}

function checkContext(
  name: string,
  v: unknown,
  p: ConfigProblem[],
): void {
  const path = `.contexts.${name}`;
  if (!NAME.test(name)) {
    p.push({ path, message: `invalid context name ${JSON.stringify(name)}` });
  }
  if (!isObject(v)) {
    p.push({ path, message: "expected a mapping" });
    return;
  }
  for (const k of Object.keys(v)) {
    if (!["endpoints", "nodes", "ca", "crt", "key"].includes(k)) {
      p.push({
        path: `${path}.${k}`,
        message: `unknown key ${JSON.stringify(k)}`,
      });
    }
  }
  for (const list of ["endpoints", "nodes"]) {
    const l = v[list];
    if (l === undefined || l === null) continue;
    if (!Array.isArray(l) || l.some((e) => typeof e !== "string" || e === "")) {
      p.push({
        path: `${path}.${list}`,
        message: "expected a list of strings",
      });
    }
  }
  for (const f of ["ca", "crt", "key"]) {
    const s = v[f];
    if (typeof s !== "string" || !B64.test(s.replace(/\s+/g, ""))) {
      // Never quote: crt/key are credentials.
      p.push({ path: `${path}.${f}`, message: "expected base64-encoded PEM" });
    }
  }
}

/** Parses and validates a client config; throws ConfigValidationError. */
export function parseClientConfig(
  input: string | Uint8Array,
  source?: string,
): ClientConfig {
  const raw = parseYaml(input, { what: WHAT, source });
  const p: ConfigProblem[] = [];
  if (raw === null || raw === undefined) return { context: "", contexts: {} };
  if (!isObject(raw)) {
    p.push({ path: ".", message: "expected a mapping" });
  } else {
    for (const k of Object.keys(raw)) {
      if (k !== "context" && k !== "contexts") {
        p.push({ path: `.${k}`, message: `unknown key ${JSON.stringify(k)}` });
      }
    }
    if (
      raw.context !== undefined && raw.context !== null &&
      typeof raw.context !== "string"
    ) {
      p.push({ path: ".context", message: "expected a string" });
    }
    const contexts = raw.contexts ?? {};
    if (!isObject(contexts)) {
      p.push({ path: ".contexts", message: "expected a mapping" });
    } else {
      for (const [name, ctx] of Object.entries(contexts)) {
        checkContext(name, ctx, p);
      }
      const current = raw.context;
      if (
        typeof current === "string" && current !== "" && !(current in contexts)
      ) {
        p.push({
          path: ".context",
          message: `context ${
            JSON.stringify(current)
          } is not defined in contexts`,
        });
      }
    }
  }
  if (p.length > 0) throw new ConfigValidationError(p, source, { what: WHAT });
  const r = raw as {
    context?: string;
    contexts?: Record<string, ClientContext>;
  };
  const contexts: Record<string, ClientContext> = {};
  for (const [name, c] of Object.entries(r.contexts ?? {})) {
    contexts[name] = {
      endpoints: [...(c.endpoints ?? [])],
      nodes: [...(c.nodes ?? [])],
      ca: c.ca.replace(/\s+/g, ""),
      crt: c.crt.replace(/\s+/g, ""),
      key: c.key.replace(/\s+/g, ""),
    };
  }
  return { context: r.context ?? "", contexts };
}

/** Serialises a client config to YAML. */
export function stringifyClientConfig(config: ClientConfig): string {
  return stringifyYaml(config);
}

/** Reads a client config; a missing file reads as an empty config when `allowMissing`. */
export async function loadClientConfig(
  path: string,
  options: { allowMissing?: boolean } = {},
): Promise<ClientConfig> {
  try {
    await Deno.stat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound && options.allowMissing) {
      return { context: "", contexts: {} };
    }
    throw new Error(`Cannot read client config ${JSON.stringify(path)}`, {
      cause: err,
    });
  }
  return parseClientConfig(await readBoundedFile(path, WHAT), path);
}

/** Writes a client config atomically, mode 0600 (its folder 0700 if created). */
export async function saveClientConfig(
  path: string,
  config: ClientConfig,
): Promise<void> {
  const slash = path.lastIndexOf("/");
  if (slash > 0) {
    await Deno.mkdir(path.slice(0, slash), { recursive: true, mode: 0o700 });
  }
  await writeFileAtomic(path, stringifyClientConfig(config), 0o600);
}
