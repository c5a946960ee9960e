/**
 * The certificate folders node daemons read: DIR/server.crt, server.key,
 * ca.crt (and client.crt, client.key for apid on control planes). Files are
 * replaced atomically (temp file + rename, keys 0600); readers check that key
 * and certificate match, so a half-replaced set is never used.
 * @module
 */
import { checkTlsMaterial, type TlsMaterial } from "./tls_material.ts";

/** The files of one certificate folder, PEM. */
export interface CertDirFiles {
  /** OS CA certificate. */
  ca: string;
  /** Server certificate. */
  serverCrt: string;
  /** Server key (secret). */
  serverKey: string;
  /** Client certificate (apid on control planes). */
  clientCrt?: string;
  /** Client key (secret). */
  clientKey?: string;
}

/** What a daemon reads from its certificate folder. */
export interface CertDirMaterial {
  /** Server TLS material (ca, cert, key). */
  server: TlsMaterial;
  /** Client TLS material, when the folder has client.crt/client.key. */
  client?: TlsMaterial;
}

/** The certificate folder of a daemon under a node's state folder. */
export function certDirOf(stateDir: string, daemon: "apid" | "trustd"): string {
  return `${stateDir}/certs/${daemon}`;
}

/** Who a written file belongs to (default: the writer). */
export interface FileOwnerIds {
  /** User id. */
  uid: number;
  /** Group id. */
  gid: number;
}

/**
 * Writes a file atomically: a temp file in the same folder, then rename. With
 * `owner`, the file is handed over before the rename, so it never appears
 * under its name with another owner.
 */
export async function writeFileAtomic(
  path: string,
  data: string,
  mode: number,
  owner?: FileOwnerIds,
): Promise<void> {
  const tmp = `${path}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  try {
    const f = await Deno.open(tmp, {
      write: true,
      createNew: true,
      mode,
    });
    try {
      await f.write(new TextEncoder().encode(data));
      await f.sync();
    } finally {
      f.close();
    }
    await Deno.chmod(tmp, mode); // umask may have narrowed or widened it
    if (owner) await Deno.chown(tmp, owner.uid, owner.gid);
    await Deno.rename(tmp, path);
  } catch (cause) {
    await Deno.remove(tmp).catch(() => {});
    throw new Error(`Cannot write ${JSON.stringify(path)}`, { cause });
  }
}

/**
 * Writes a certificate folder: CA and certificates 0644, keys 0600. Keys go
 * first so a reader never pairs a new certificate with an old key for long
 * (and never uses such a pair: it checks they match). The server pair goes
 * last: a folder is usable once it has one, and by then the client pair of
 * a first write is there too. With `owner`, the folder and every file belong
 * to it (the daemon that reads them runs under its own uid).
 */
export async function writeCertDir(
  dir: string,
  files: CertDirFiles,
  owner?: FileOwnerIds,
): Promise<void> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  if (owner) await Deno.chown(dir, owner.uid, owner.gid);
  await writeFileAtomic(`${dir}/ca.crt`, files.ca, 0o644, owner);
  if (files.clientCrt !== undefined && files.clientKey !== undefined) {
    await writeFileAtomic(`${dir}/client.key`, files.clientKey, 0o600, owner);
    await writeFileAtomic(`${dir}/client.crt`, files.clientCrt, 0o644, owner);
  }
  await writeFileAtomic(`${dir}/server.key`, files.serverKey, 0o600, owner);
  await writeFileAtomic(`${dir}/server.crt`, files.serverCrt, 0o644, owner);
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
}

/** A folder's files as read, before any check (absent ones undefined). */
interface RawCertDir {
  ca?: string;
  cert?: string;
  key?: string;
  clientCert?: string;
  clientKey?: string;
}

async function readRaw(dir: string): Promise<RawCertDir> {
  const [ca, cert, key, clientCert, clientKey] = await Promise.all(
    ["ca.crt", "server.crt", "server.key", "client.crt", "client.key"].map(
      (f) => readOptional(`${dir}/${f}`),
    ),
  );
  return { ca, cert, key, clientCert, clientKey };
}

/** What compares two reads of a folder: every file's contents. */
function rawKey(raw: RawCertDir): string {
  return JSON.stringify([
    raw.ca,
    raw.cert,
    raw.key,
    raw.clientCert,
    raw.clientKey,
  ]);
}

/** The key of material a caller already holds (as {@linkcode rawKey}). */
function materialKey(m: CertDirMaterial): string {
  return rawKey({
    ca: m.server.ca,
    cert: m.server.cert,
    key: m.server.key,
    clientCert: m.client?.cert,
    clientKey: m.client?.key,
  });
}

function checkRaw(dir: string, raw: RawCertDir): CertDirMaterial {
  const { ca, cert, key, clientCert, clientKey } = raw;
  if (ca === undefined || cert === undefined || key === undefined) {
    throw new Error(
      `Cannot read certificates in ${
        JSON.stringify(dir)
      }: ca.crt, server.crt and server.key are required`,
    );
  }
  const server = { ca, cert, key };
  checkTlsMaterial(server);
  if (clientCert === undefined || clientKey === undefined) return { server };
  const client = { ca, cert: clientCert, key: clientKey };
  checkTlsMaterial(client);
  return { server, client };
}

/**
 * Reads and checks a certificate folder. Throws if files are missing or the
 * keys do not match their certificates (e.g. in the middle of a renewal).
 */
export async function readCertDir(dir: string): Promise<CertDirMaterial> {
  return checkRaw(dir, await readRaw(dir));
}

/** Options for {@linkcode watchCertDir}. */
export interface WatchCertDirOptions {
  /** Stops watching. */
  signal: AbortSignal;
  /** Poll period in ms (default 1000). */
  intervalMs?: number;
  /** Told about unusable states (missing or mismatched files), at most once per state. */
  onProblem?: (err: unknown) => void;
  /**
   * Material the caller already holds (from {@linkcode waitForCertDir}):
   * not reported again while the files still hold it.
   */
  known?: CertDirMaterial;
}

/**
 * Calls `onChange` with the folder's material when it is first readable and
 * after every change, until `signal` aborts. A half-written set (key and
 * certificate not matching) is skipped until the next poll. Each poll only
 * reads the files; the TLS checks (key parsing, ~1 ms here and tens of ms
 * under QEMU TCG) run only when their contents changed.
 */
export async function watchCertDir(
  dir: string,
  onChange: (material: CertDirMaterial) => void | Promise<void>,
  options: WatchCertDirOptions,
): Promise<void> {
  let last = options.known ? materialKey(options.known) : "";
  let lastProblem = "";
  const interval = options.intervalMs ?? 1000;
  while (!options.signal.aborted) {
    try {
      const raw = await readRaw(dir);
      const key = rawKey(raw);
      if (key !== last) {
        last = key; // a bad set is reported once, and checked again when rewritten
        const m = checkRaw(dir, raw);
        lastProblem = "";
        await onChange(m);
      }
    } catch (err) {
      const text = String(err);
      if (text !== lastProblem) {
        lastProblem = text;
        options.onProblem?.(err);
      }
    }
    await sleep(interval, options.signal);
  }
}

/** Options for {@linkcode waitForCertDir}. */
export interface WaitForCertDirOptions {
  /** Stops waiting (the wait then throws). */
  signal: AbortSignal;
  /** Poll period in ms (default 200). */
  intervalMs?: number;
  /** Only a set this accepts ends the wait (e.g. one with a client pair). */
  accept?: (material: CertDirMaterial) => boolean;
}

/**
 * Waits until the folder holds a usable (and accepted) set, then returns
 * it. Files are checked only when they changed since the last poll.
 */
export async function waitForCertDir(
  dir: string,
  options: WaitForCertDirOptions,
): Promise<CertDirMaterial> {
  let last = "";
  while (true) {
    options.signal.throwIfAborted();
    try {
      const raw = await readRaw(dir);
      const key = rawKey(raw);
      if (key !== last) {
        last = key;
        const m = checkRaw(dir, raw);
        if (options.accept?.(m) ?? true) return m;
      }
    } catch {
      // not there yet, or half written: wait for the next change
    }
    await sleep(options.intervalMs ?? 200, options.signal);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
