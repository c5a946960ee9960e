/**
 * Boots a built image in QEMU with the serial console on this terminal:
 * `deno run -A image/run.ts [--out image/build] [--init probe] [--port 50000]`.
 * QEMU exits when the guest powers off or reboots (-no-reboot); Ctrl-C
 * stops it.
 * @module
 */

import { parseArgs } from "node:util";
import { composeCmdline } from "../lib/layout/mod.ts";
import { chooseAccel, qemuArgs } from "./qemu.ts";
import {
  type BuildManifest,
  builtImageAt,
  OUTPUT_NAMES,
} from "./pipeline/build_image.ts";
import { findTool } from "./pipeline/exec.ts";
import { errorText } from "../lib/log/mod.ts";

const USAGE = `usage: deno run -A image/run.ts [options] [-- kernel args...]
  --out DIR      build folder (default image/build)
  --init NAME    program the init runs as PID 1 (machined, probe)
  --port N       host port on 127.0.0.1 forwarded to apid's 50000 (default 50000)
  --memory MiB   guest memory (default 1024)
  --config FILE  a machine config, passed on QEMU's fw_cfg (opt/bronze/config);
                 without one machined starts in maintenance mode
  --no-disk      boot without the disk image
environment: BRONZE_QEMU_ACCEL=tcg|kvm|auto (default tcg)`;

const repoRoot = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

try {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    options: {
      out: { type: "string", default: `${repoRoot}/image/build` },
      init: { type: "string" },
      port: { type: "string", default: "50000" },
      memory: { type: "string", default: "1024" },
      "no-disk": { type: "boolean", default: false },
      config: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  const port = Number(values.port);
  const memory = Number(values.memory);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(
      `--port must be a TCP port, got ${JSON.stringify(values.port)}`,
    );
  }
  if (!Number.isInteger(memory) || memory < 128) {
    throw new Error(
      `--memory must be at least 128 (MiB), got ${
        JSON.stringify(values.memory)
      }`,
    );
  }
  const out = values.out;
  const base = (await Deno.readTextFile(`${out}/${OUTPUT_NAMES.cmdline}`))
    .trim();
  const extra = [...positionals];
  if (values.init !== undefined) extra.push(`bronze.init=${values.init}`);
  const image = builtImageAt(
    out,
    JSON.parse(
      await Deno.readTextFile(`${out}/${OUTPUT_NAMES.manifest}`),
    ) as BuildManifest,
  );
  const kernel = image.boot.kernel;
  const dir = await Deno.makeTempDir({ prefix: "bronze-run-" });
  const qemu = findTool("qemu-system-x86_64");
  if (qemu === undefined) {
    throw new Error(
      "qemu-system-x86_64 not found; install it with: apt-get install -y qemu-system-x86",
    );
  }
  const args = qemuArgs({
    kernel,
    initramfs: image.boot.initramfs,
    cmdline: composeCmdline(base, extra),
    disk: values["no-disk"] ? undefined : `${out}/${OUTPUT_NAMES.disk}`,
    memoryMiB: memory,
    accel: await chooseAccel(kernel),
    forwards: [{ hostPort: port, guestPort: 50000 }],
    fwCfg: values.config === undefined ? [] : [{
      name: "opt/bronze/config",
      file: await Deno.realPath(values.config),
    }],
  }, `${dir}/qmp.sock`);
  const child = new Deno.Command(qemu, {
    args,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  })
    .spawn();
  const stop = () => child.kill("SIGTERM");
  Deno.addSignalListener("SIGINT", stop);
  const status = await child.status;
  Deno.removeSignalListener("SIGINT", stop);
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  Deno.exit(status.code);
} catch (err) {
  console.error(`image run failed: ${errorText(err)}`);
  Deno.exit(1);
}
