/**
 * For the image benchmarks: boots one configured Bronze node under QEMU
 * (config on fw_cfg, apid forwarded from 127.0.0.1) and gives an mTLS API
 * client for it.
 * @module
 */
import type { ConsoleLine } from "../image/console_reader.ts";
import { composeCmdline } from "../lib/layout/mod.ts";
import type { BuiltImage } from "../image/pipeline/build_image.ts";
import { type Accel, startVm, type Vm } from "../image/qemu.ts";
import { ApiClient } from "../cli/client/api_client.ts";
import { contextTls, mintClientConfig } from "../lib/clientconfig/mod.ts";
import {
  bundleCa,
  generateMachineConfigs,
  generateSecretsBundle,
  stringifyMachineConfig,
} from "../lib/config/mod.ts";

/** A booting node: its VM, API client and the temp folder to remove. */
export interface BenchNode extends AsyncDisposable {
  /** The VM (console, exit). */
  vm: Vm;
  /** Admin mTLS client of the node's apid through the forwarded port. */
  client: ApiClient;
  /**
   * A new admin client with a channel of its own: a first dial, free of the
   * reconnect backoff a channel builds up while the node is still booting.
   */
  newClient(): ApiClient;
}

/** The kernel arguments of a `--kernel-args "a b"` flag, as a list. */
export function splitKernelArgs(text: string): string[] {
  return text.split(/\s+/).filter((a) => a !== "");
}

/** Starts a configured control-plane node; dispose it to kill and clean up. */
export async function bootNode(
  image: BuiltImage,
  options: {
    accel: Accel;
    onLine?: (l: ConsoleLine) => void;
    /** Extra kernel arguments (experiments: `quiet`, `loglevel=4`...). */
    kernelArgs?: readonly string[];
  },
): Promise<BenchNode> {
  const dir = await Deno.makeTempDir({ prefix: "bronze-bench-" });
  const secrets = await generateSecretsBundle();
  const { controlplane } = generateMachineConfigs("bench", "10.0.2.15", {
    secrets,
  });
  controlplane.machine.network = {
    hostname: "bench-1",
    interfaces: [{
      name: "eth0",
      addresses: ["10.0.2.15/24"],
      routes: [{ network: "0.0.0.0/0", gateway: "10.0.2.2" }],
    }],
  };
  await Deno.writeTextFile(
    `${dir}/config.yaml`,
    stringifyMachineConfig(controlplane),
  );
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  const ca = await bundleCa(secrets);
  const cc = await mintClientConfig(ca, {
    contextName: "bench",
    endpoints: [`127.0.0.1:${port}`],
  });
  const vm = await startVm({
    ...image.boot,
    cmdline: composeCmdline(image.cmdline, [
      "panic=-1",
      ...(options.kernelArgs ?? []),
    ]),
    disk: image.disk,
    forwards: [{ hostPort: port, guestPort: 50000 }],
    fwCfg: [{ name: "opt/bronze/config", file: `${dir}/config.yaml` }],
    accel: options.accel,
    onLine: options.onLine,
  });
  const newClient = () =>
    new ApiClient({
      endpoints: [`127.0.0.1:${port}`],
      nodes: [],
      tls: contextTls(cc.contexts.bench),
    });
  const client = newClient();
  return {
    vm,
    client,
    newClient,
    async [Symbol.asyncDispose]() {
      client.close();
      await vm[Symbol.asyncDispose]();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
