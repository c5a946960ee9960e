/**
 * osctl's API commands against real apid processes: tables with NODE first,
 * protobuf JSON, per-node errors as a warning and exit code 1, merged logs
 * with node prefixes that stop when interrupted.
 */
import { COMMANDS } from "../cli/commands/mod.ts";
import { mintClientConfig, saveClientConfig } from "../lib/clientconfig/mod.ts";
import { dispatch } from "../cli/dispatch.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  tempDir,
  waitUntil,
} from "../lib/testing/mod.ts";
import { apidCrash, makePki, startNodes } from "./apid_harness.ts";

/** Runs osctl in this process; returns exit code and output. */
async function osctl(
  argv: string[],
  options: { signal?: AbortSignal; onStdout?: (all: string) => void } = {},
): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await dispatch(COMMANDS, argv, {
    io: {
      stdout: (s) => {
        out += s;
        options.onStdout?.(out);
      },
      stderr: (s) => (err += s),
    },
    signal: options.signal ?? new AbortController().signal,
  });
  return { code, out, err };
}

Deno.test("osctl API commands through apid", async (t) => {
  await using dir = await tempDir();
  const pki = await makePki();
  await using cluster = await startNodes(pki, {
    dir: dir.path,
    count: 3,
    legTimeoutMs: 1500,
  });
  const { nodes } = cluster;
  const [cp, w1, w2] = nodes;
  const all = nodes.map((n) => n.address);
  const config = `${dir.path}/osconfig`;
  await saveClientConfig(
    config,
    await mintClientConfig(pki.ca, {
      contextName: "test",
      endpoints: [cp.address],
      nodes: all,
    }),
  );
  const g = ["--osconfig", config];

  await t.step("version: a NODE line per node", async () => {
    const r = await osctl([...g, "version"]);
    assertEquals(r.code, 0, r.err);
    for (const a of all) assertIncludes(r.out, `NODE:        ${a}\n`);
    assertIncludes(r.out, "Client:\n");
    assertIncludes(r.out, "Platform:    worker-2 (process)");
  });

  await t.step("services: a table with NODE first", async () => {
    const r = await osctl([...g, "services"]);
    assertEquals(r.code, 0, r.err);
    const lines = r.out.trimEnd().split("\n");
    assert(
      /^NODE\s{3,}SERVICE\s{3,}STATE\s{3,}HEALTH\s{3,}LAST CHANGE\s{3,}LAST EVENT$/
        .test(lines[0]),
      lines[0],
    );
    assertEquals(lines.length, 4);
    assert(
      new RegExp(
        `^${
          w1.address.replaceAll(".", "\\.")
        }\\s+apid\\s+Running\\s+OK\\s+\\d+s ago\\s+Health check successful$`,
      ).test(lines[2]),
      lines[2],
    );
  });

  await t.step(
    "-n overrides the context's nodes; -o json is protobuf JSON",
    async () => {
      const r = await osctl([
        ...g,
        "-n",
        w2.address,
        "-o",
        "json",
        "version",
      ]);
      assertEquals(r.code, 0, r.err);
      const json = JSON.parse(r.out);
      assertEquals(json.messages.length, 1);
      assertEquals(json.messages[0].metadata.hostname, w2.address);
      assertEquals(json.messages[0].platform.name, "worker-2");
    },
  );

  await t.step("service ID restart: NODE RESPONSE", async () => {
    const r = await osctl([
      ...g,
      "-n",
      w1.address,
      "service",
      "networkd",
      "restart",
    ]);
    assertEquals(r.code, 0, r.err);
    assert(/^NODE\s+RESPONSE\n/.test(r.out), r.out);
    assertIncludes(r.out, "restarted networkd; roles=os:admin;caller=admin");
  });

  await t.step(
    "logs -f over several nodes: prefixed lines, stops on interrupt",
    async () => {
      const ac = new AbortController();
      const r = await osctl([...g, "logs", "apid", "-f", "--tail", "1"], {
        signal: ac.signal,
        onStdout: (outSoFar) => {
          if (
            all.every((a) =>
              outSoFar.includes(`${a}: `) &&
              outSoFar.split(`${a}: `).length > 3
            )
          ) {
            ac.abort();
          }
        },
      });
      assertEquals(r.code, 0, r.err);
      const lines = r.out.trimEnd().split("\n");
      assert(
        lines.every((l) => all.some((a) => l.startsWith(`${a}: `))),
        r.out,
      );
      assertIncludes(r.out, `${w2.address}: worker-2 apid line 0`);
      assertIncludes(r.out, `${cp.address}: cp-1 apid follow`);
    },
  );

  await t.step(
    "one node down: good rows, a warning, exit code 1",
    async () => {
      await w2.stopApid();
      const r = await osctl([...g, "services"]);
      assertEquals(r.code, 1);
      assertEquals(r.out.trimEnd().split("\n").length, 3, r.out);
      assert(!r.out.includes(w2.address), r.out);
      assert(
        r.err.startsWith(
          "WARNING: 1 error(s) occurred:\n * " + w2.address + ": ",
        ),
        r.err,
      );
      await w2.startApid();
      await waitUntil(
        async () => (await osctl([...g, "version"])).code === 0,
        {
          timeoutMs: 15000,
          what: "the node to answer again",
        },
      );
    },
  );

  await t.step("no apid crashed", () => {
    for (const n of nodes) {
      assertEquals(apidCrash(n), undefined, `apid on ${n.address} crashed`);
    }
  });
});
