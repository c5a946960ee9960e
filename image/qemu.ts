/**
 * Runs a Bronze image in QEMU: `qemu-system-x86_64` under TCG by default
 * (KVM only when asked, or when a probe boot shows it works), the serial
 * console read line by line, a virtio disk and user-mode networking with
 * ports forwarded from 127.0.0.1 only, a QMP socket for clean power-off.
 * @module
 */

import { type ConsoleLine, ConsoleReader } from "./console_reader.ts";
import { findTool } from "./pipeline/exec.ts";

/** Accelerator choice. */
export type Accel = "tcg" | "kvm";

/** A port forwarded from the host's 127.0.0.1 into the guest. */
export interface HostForward {
  /** Host port on 127.0.0.1. */
  hostPort: number;
  /** Guest TCP port. */
  guestPort: number;
  /** Guest address (default: QEMU's, the user network's .15). */
  guestAddress?: string;
}

/** Options for {@linkcode startVm}. */
export interface VmOptions {
  /** vmlinuz. */
  kernel: string;
  /** The initramfs (omitted for a kernel-only probe). */
  initramfs?: string;
  /** The full kernel command line. */
  cmdline: string;
  /** A raw disk image attached as virtio-blk. */
  disk?: string;
  /** Discard disk writes (QEMU snapshot=on); default true. */
  diskSnapshot?: boolean;
  /** Guest memory in MiB; default 1024. */
  memoryMiB?: number;
  /** Virtual CPUs; default 2. */
  cpus?: number;
  /** Accelerator; default "tcg". */
  accel?: Accel;
  /** User-mode network with these forwards; none means no network device. */
  forwards?: HostForward[];
  /** Add a virtio NIC even with no forwards (default: when forwards given). */
  network?: boolean;
  /**
   * The user network's addresses (default QEMU's 10.0.2.0/24 with the host
   * at .2): `net` CIDR and the `host` address the guest reaches QEMU at.
   */
  userNetwork?: { net: string; host: string };
  /** The serial console: piped to stdout (default) or written to a file. */
  serialFile?: string;
  /** QEMU exits instead of rebooting the guest (default true). */
  noReboot?: boolean;
  /**
   * fw_cfg entries (`-fw_cfg name=NAME,file=PATH`): the guest's
   * /sys/firmware/qemu_fw_cfg/by_name/NAME/raw (the config drive uses
   * opt/bronze/config).
   */
  fwCfg?: Array<{ name: string; file: string }>;
  /**
   * A second NIC on a network shared with other VMs: QEMU socket
   * networking over UDP multicast on the host's loopback
   * (`mcast=GROUP:PORT,localaddr=127.0.0.1`).
   */
  vmNetwork?: { mcast: string; mac?: string };
  /** Sees each console line as it arrives. */
  onLine?: (line: ConsoleLine) => void;
  /** The QEMU binary; default qemu-system-x86_64 on PATH. */
  qemu?: string;
  /** Kills the VM when aborted. */
  signal?: AbortSignal;
}

/** How QEMU ended. */
export interface VmExit {
  /** Exit code (null when killed by a signal). */
  code: number | null;
  /** The signal that killed it, if any. */
  signal: Deno.Signal | null;
  /** Milliseconds from start to exit. */
  afterMs: number;
}

/** The QEMU arguments for `options` (exported for tests). */
export function qemuArgs(options: VmOptions, qmpSocket: string): string[] {
  const args = [
    "-nodefaults",
    "-no-user-config",
    "-machine",
    "q35",
    "-accel",
    options.accel ?? "tcg",
    "-cpu",
    (options.accel ?? "tcg") === "kvm" ? "host" : "max",
    "-smp",
    String(options.cpus ?? 2),
    "-m",
    String(options.memoryMiB ?? 1024),
    "-display",
    "none",
    "-serial",
    options.serialFile === undefined ? "stdio" : `file:${options.serialFile}`,
    "-qmp",
    `unix:${qmpSocket},server=on,wait=off`,
    "-kernel",
    options.kernel,
    "-append",
    options.cmdline,
    "-device",
    "virtio-rng-pci",
  ];
  if (options.initramfs !== undefined) args.push("-initrd", options.initramfs);
  for (const f of options.fwCfg ?? []) {
    if (!/^opt\/[\w./-]+$/.test(f.name) || f.file.includes(",")) {
      throw new Error(
        `Invalid fw_cfg entry ${
          JSON.stringify(f)
        }: the name must start with opt/ and the file must not contain a comma`,
      );
    }
    args.push("-fw_cfg", `name=${f.name},file=${f.file}`);
  }
  if (options.noReboot ?? true) args.push("-no-reboot");
  if (options.disk !== undefined) {
    const snap = (options.diskSnapshot ?? true) ? ",snapshot=on" : "";
    args.push(
      "-drive",
      `file=${options.disk},if=none,id=disk0,format=raw${snap}`,
      "-device",
      "virtio-blk-pci,drive=disk0",
    );
  }
  const forwards = options.forwards ?? [];
  if (options.network ?? forwards.length > 0) {
    for (const f of forwards) {
      if (
        !Number.isInteger(f.hostPort) || f.hostPort < 1 || f.hostPort > 65535
      ) {
        throw new Error(`Invalid host port ${f.hostPort}`);
      }
      if (
        !Number.isInteger(f.guestPort) || f.guestPort < 1 || f.guestPort > 65535
      ) {
        throw new Error(`Invalid guest port ${f.guestPort}`);
      }
    }
    // restrict=on: the guest reaches neither the host nor the outside; only
    // the forwards (bound to 127.0.0.1) come in.
    for (
      const a of [
        options.userNetwork?.host,
        ...forwards.map((f) => f.guestAddress),
      ]
    ) {
      if (a !== undefined && !/^\d+\.\d+\.\d+\.\d+$/.test(a)) {
        throw new Error(`Invalid guest address ${JSON.stringify(a)}`);
      }
    }
    const fwd = forwards.map((f) =>
      `,hostfwd=tcp:127.0.0.1:${f.hostPort}-${
        f.guestAddress ?? ""
      }:${f.guestPort}`
    ).join("");
    const un = options.userNetwork;
    if (un && !/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(un.net)) {
      throw new Error(`Invalid user network ${JSON.stringify(un.net)}`);
    }
    const net = un ? `,net=${un.net},host=${un.host}` : "";
    args.push(
      "-netdev",
      `user,id=net0,restrict=on${net}${fwd}`,
      "-device",
      "virtio-net-pci,netdev=net0",
    );
  }
  if (options.vmNetwork) {
    const m = /^(\d+\.\d+\.\d+\.\d+):(\d+)$/.exec(options.vmNetwork.mcast);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) {
      throw new Error(
        `Invalid multicast address ${
          JSON.stringify(options.vmNetwork.mcast)
        }: want GROUP:PORT`,
      );
    }
    const mac = options.vmNetwork.mac;
    if (mac !== undefined && !/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/.test(mac)) {
      throw new Error(`Invalid MAC address ${JSON.stringify(mac)}`);
    }
    args.push(
      "-netdev",
      `socket,id=net1,mcast=${options.vmNetwork.mcast},localaddr=127.0.0.1`,
      "-device",
      `virtio-net-pci,netdev=net1${mac ? `,mac=${mac}` : ""}`,
    );
  }
  return args;
}

/**
 * Sends one QMP command (e.g. "system_powerdown", "quit") to the QMP
 * socket of a running QEMU and returns its reply's `return` value.
 */
export async function qmpCommand(
  socket: string,
  command: string,
  signal?: AbortSignal,
): Promise<unknown> {
  const conn = await Deno.connect({ transport: "unix", path: socket });
  try {
    const lines = conn.readable.pipeThrough(new TextDecoderStream())
      .getReader();
    let buf = "";
    const next = async (): Promise<Record<string, unknown>> => {
      while (true) {
        signal?.throwIfAborted();
        const nl = buf.indexOf("\n");
        if (nl >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          const msg = JSON.parse(line) as Record<string, unknown>;
          if ("event" in msg) continue;
          return msg;
        }
        const { value, done } = await lines.read();
        if (done) {
          throw new Error(`QMP closed during ${JSON.stringify(command)}`);
        }
        buf += value;
      }
    };
    const send = (execute: string) =>
      conn.write(new TextEncoder().encode(JSON.stringify({ execute }) + "\n"));
    await next(); // greeting
    await send("qmp_capabilities");
    await next();
    await send(command);
    const reply = command === "quit" ? {} : await next();
    if ("error" in reply) {
      throw new Error(`QMP ${command} failed: ${JSON.stringify(reply.error)}`);
    }
    await lines.cancel().catch(() => {});
    return reply.return;
  } finally {
    try {
      conn.close();
    } catch {
      // already closed by the reader's cancel
    }
  }
}

/** A running VM. Dispose it (`await using vm = await startVm(...)`) to kill it. */
export class Vm implements AsyncDisposable {
  #child: Deno.ChildProcess;
  #dir: string;
  #startedAt: number;
  #exit?: VmExit;
  #pumps: Promise<void>;
  #stderr: string[] = [];
  /** The serial console. */
  readonly console: ConsoleReader;
  /** Resolves when QEMU has exited (never rejects). */
  readonly exited: Promise<VmExit>;

  private constructor(
    child: Deno.ChildProcess,
    dir: string,
    reader: ConsoleReader,
  ) {
    this.#child = child;
    this.#dir = dir;
    this.#startedAt = performance.now();
    this.console = reader;
    const stderrPump = (async () => {
      const dec = new TextDecoder();
      for await (const chunk of child.stderr) {
        this.#stderr.push(dec.decode(chunk));
        if (this.#stderr.length > 50) this.#stderr.shift();
      }
    })().catch(() => {});
    this.#pumps = Promise.all([
      reader.pump(child.stdout, "QEMU exited").catch(() => {}),
      stderrPump,
    ]).then(() => {});
    this.exited = child.status.then((s) => {
      this.#exit = {
        code: s.signal === null ? s.code : null,
        signal: s.signal,
        afterMs: performance.now() - this.#startedAt,
      };
      return this.#exit;
    });
  }

  /** Starts QEMU with `options`. */
  static async start(options: VmOptions): Promise<Vm> {
    const qemu = options.qemu ?? findTool("qemu-system-x86_64");
    if (qemu === undefined) {
      throw new Error(
        "qemu-system-x86_64 not found; install it with: apt-get install -y qemu-system-x86",
      );
    }
    for (const f of [options.kernel, options.initramfs, options.disk]) {
      if (f !== undefined) await Deno.stat(f); // a clear NotFound now, not a QEMU error later
    }
    const dir = await Deno.makeTempDir({ prefix: "bronze-vm-" });
    const reader = new ConsoleReader({ onLine: options.onLine });
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(qemu, {
        args: qemuArgs(options, `${dir}/qmp.sock`),
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
    } catch (cause) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw new Error(`Cannot start ${qemu}`, { cause });
    }
    const vm = new Vm(child, dir, reader);
    options.signal?.addEventListener("abort", () => vm.kill(), { once: true });
    return vm;
  }

  /** QEMU's process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** Milliseconds since QEMU was started. */
  get uptimeMs(): number {
    return performance.now() - this.#startedAt;
  }

  /** The exit, once QEMU has exited. */
  get exit(): VmExit | undefined {
    return this.#exit;
  }

  /** QEMU's last stderr output (for error messages). */
  stderr(): string {
    return this.#stderr.join("");
  }

  /** Sends one QMP command (e.g. "system_powerdown", "quit"). */
  qmp(command: string, signal?: AbortSignal): Promise<unknown> {
    return qmpCommand(`${this.#dir}/qmp.sock`, command, signal);
  }

  /**
   * Waits up to `timeoutMs` for QEMU to exit by itself; then asks for an
   * ACPI power-off, then quits QEMU, then kills it.
   */
  async shutdown(options: { timeoutMs?: number } = {}): Promise<VmExit> {
    const t = options.timeoutMs ?? 10_000;
    const within = (ms: number) =>
      Promise.race([
        this.exited,
        new Promise<undefined>((r) => {
          const id = setTimeout(() => r(undefined), ms);
          this.exited.then(() => clearTimeout(id));
        }),
      ]);
    if (this.#exit) return this.#exit;
    if (await within(t)) return this.#exit!;
    await this.qmp("system_powerdown").catch(() => {});
    if (await within(t)) return this.#exit!;
    await this.qmp("quit").catch(() => {});
    if (await within(t)) return this.#exit!;
    this.kill();
    return await this.exited;
  }

  /** Kills QEMU at once (SIGKILL). */
  kill(): void {
    if (this.#exit) return;
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }

  /** Kills QEMU if it still runs, waits for it, removes its temp folder. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.kill();
    await this.exited;
    await this.#pumps;
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }
}

/** Starts a VM (see {@linkcode Vm}). */
export function startVm(options: VmOptions): Promise<Vm> {
  return Vm.start(options);
}

/**
 * Whether KVM works here: /dev/kvm opens and a kernel-only boot reaches its
 * "Unable to mount root" panic within `timeoutMs`. Slow only when KVM hangs.
 */
export async function kvmWorks(
  kernel: string,
  options: { timeoutMs?: number } = {},
): Promise<boolean> {
  try {
    const f = await Deno.open("/dev/kvm", { read: true, write: true });
    f.close();
  } catch {
    return false;
  }
  await using vm = await startVm({
    kernel,
    cmdline: "console=ttyS0 panic=-1",
    accel: "kvm",
    memoryMiB: 256,
    cpus: 1,
  });
  try {
    await vm.console.waitFor(/Kernel panic|Unable to mount root/, {
      timeoutMs: options.timeoutMs ?? 20_000,
    });
    return true;
  } catch {
    return false;
  }
}

/**
 * The accelerator to use: BRONZE_QEMU_ACCEL=tcg|kvm|auto (default tcg; auto
 * probes KVM with {@linkcode kvmWorks}).
 */
export async function chooseAccel(kernel: string): Promise<Accel> {
  let want = "tcg";
  try {
    want = Deno.env.get("BRONZE_QEMU_ACCEL") ?? "tcg";
  } catch {
    // no env permission: default
  }
  if (want === "tcg" || want === "kvm") return want;
  if (want !== "auto") {
    throw new Error(
      `BRONZE_QEMU_ACCEL must be tcg, kvm or auto, got ${JSON.stringify(want)}`,
    );
  }
  return (await kvmWorks(kernel)) ? "kvm" : "tcg";
}
