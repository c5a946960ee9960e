/**
 * Interop: Debian's python3-grpcio, an independent gRPC implementation,
 * calls apid with mTLS using the files of an osctl client config.
 */
import {
  RebootRequest,
  ServiceListResponse,
  VersionResponse,
} from "../lib/api/gen/machine/machine.ts";
import { mintClientConfig, saveClientConfig } from "../lib/clientconfig/mod.ts";
import { assertEquals, assertIncludes, tempDir } from "../lib/testing/mod.ts";
import { makePki, startNodes } from "./apid_harness.ts";

const PYTHON = "/usr/bin/python3"; // Debian's, where python3-grpcio lives
const CLIENT = new URL("./interop/apid_client.py", import.meta.url).pathname;

function hasGrpcio(): boolean {
  try {
    return new Deno.Command(PYTHON, { args: ["-c", "import grpc, yaml"] })
      .outputSync().success;
  } catch {
    return false;
  }
}

async function python(args: string[]): Promise<string> {
  const out = await new Deno.Command(PYTHON, {
    args: [CLIENT, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success && !text.startsWith("ERROR")) {
    throw new Error(
      `python client failed: ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return text;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function unhex(text: string): Uint8Array {
  return Uint8Array.from(text.match(/../g) ?? [], (h) => parseInt(h, 16));
}

Deno.test({
  name: "python3-grpcio calls apid's Version and ServiceList with mTLS",
  ignore: !hasGrpcio(),
  fn: async (t) => {
    await using dir = await tempDir();
    const pki = await makePki();
    await using cluster = await startNodes(pki, { dir: dir.path, count: 2 });
    const { nodes } = cluster;
    const all = nodes.map((n) => n.address);
    const configOf = async (name: string, roles: string[]) => {
      const path = `${dir.path}/${name}`;
      await saveClientConfig(
        path,
        await mintClientConfig(pki.ca, {
          contextName: "interop",
          roles,
          endpoints: [nodes[0].address],
        }),
      );
      return path;
    };
    const admin = await configOf("admin.yaml", ["os:admin"]);
    const reader = await configOf("reader.yaml", ["os:reader"]);

    await t.step("Version on both nodes", async () => {
      const reply = VersionResponse.decode(
        unhex(await python([admin, "Version", all.join(",")])),
      );
      assertEquals(reply.messages.map((m) => m.metadata?.hostname), all);
      assertEquals(reply.messages.map((m) => m.platform?.name), [
        "cp-1",
        "worker-1",
      ]);
    });

    await t.step("ServiceList on the endpoint node", async () => {
      const reply = ServiceListResponse.decode(
        unhex(await python([reader, "ServiceList"])),
      );
      assertEquals(reply.messages.length, 1);
      assertEquals(reply.messages[0].services[0].id, "apid");
    });

    await t.step("a reader is refused Reboot", async () => {
      const out = await python([
        reader,
        "Reboot",
        "",
        hex(RebootRequest.encode({}).finish()),
      ]);
      assertIncludes(out, "ERROR PERMISSION_DENIED");
    });
  },
});
