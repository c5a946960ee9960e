/**
 * The file API on a real 2-node process-mode cluster, through apid and
 * osctl: ls (the roots, a state folder, -l, -r), read (/proc/sys, a state
 * file; admin only), usage, cp (a .tar.gz tar reads), and every way out of
 * a root refused with the path named: "..", an absolute path elsewhere, a
 * symlink planted in the state folder, /proc/self/root.
 */
import { MachineServiceService } from "../lib/api/gen/machine/machine.ts";
import { ApiError } from "../lib/api_error/mod.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  assertRejects,
  tempDir,
} from "../lib/testing/mod.ts";
import { startTestCluster } from "./cluster_harness.ts";

/** The rows of a table as arrays of cells (columns 3+ spaces apart). */
function tableRows(text: string): string[][] {
  return text.trimEnd().split("\n").map((l) => l.split(/ {3,}/));
}

Deno.test("file access on a 2-node cluster", async (t) => {
  await using cluster = await startTestCluster({
    cidr: "127.19.1.0/24",
    nodes: 2,
  });
  const [cp, worker] = cluster.addresses;
  const states = await Promise.all(
    cluster.record.nodes.map((n) => Deno.realPath(n.stateDir)),
  );
  const all = ["-n", cluster.addresses.join(",")];
  await using outside = await tempDir();
  await Deno.writeTextFile(`${outside.path}/secret`, "not for the API\n");
  await Deno.symlink(`${outside.path}/secret`, `${states[1]}/planted`);

  await t.step("ls alone lists the roots of every node", async () => {
    const r = await cluster.osctl([...all, "ls"]);
    assertEquals(r.code, 0, r.stderr);
    const rows = tableRows(r.stdout);
    assertEquals(rows[0], ["NODE", "NAME"]);
    for (const [i, node] of [cp, worker].entries()) {
      const names = rows.filter((row) => row[0] === node).map((row) => row[1]);
      assertEquals(
        names.sort(),
        ["proc", states[i].slice(1), "sys"].sort(),
        node,
      );
    }
  });

  await t.step("ls -l a state folder: its entries with modes", async () => {
    const r = await cluster.osctl(["-n", worker, "ls", "-l", states[1]]);
    assertEquals(r.code, 0, r.stderr);
    const rows = tableRows(r.stdout);
    assertEquals(rows[0], [
      "NODE",
      "MODE",
      "UID",
      "GID",
      "SIZE(B)",
      "LASTMOD",
      "NAME",
    ]);
    const byName = new Map(rows.slice(1).map((row) => [row[6], row]));
    assert(byName.get(".")?.[1].startsWith("d"), r.stdout);
    assertEquals(byName.get("run")?.[1][0], "d", r.stdout);
    assertEquals(
      byName.get(`planted -> ${outside.path}/secret`)?.[1][0],
      "L",
      r.stdout,
    );
  });

  await t.step("ls -r -t f -o json: one JSON line per file", async () => {
    const r = await cluster.osctl([
      "-n",
      cp,
      "-o",
      "json",
      "ls",
      "-r",
      "-t",
      "f",
      `${states[0]}/certs`,
    ]);
    assertEquals(r.code, 0, r.stderr);
    const files = r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
    assert(files.length > 0, r.stdout);
    for (const f of files) {
      assertEquals(f.metadata.hostname, cp);
      assert(f.name.startsWith(`${states[0]}/certs/`), f.name);
      assertEquals(f.isDir ?? false, false);
    }
    assert(files.some((f) => f.relativeName === "apid/server.crt"), r.stdout);
  });

  await t.step("read /proc/sys/kernel/kptr_restrict", async () => {
    const r = await cluster.osctl([
      "-n",
      worker,
      "read",
      "/proc/sys/kernel/kptr_restrict",
    ]);
    assertEquals(r.code, 0, r.stderr);
    assertEquals(
      r.stdout,
      await Deno.readTextFile("/proc/sys/kernel/kptr_restrict"),
    );
  });

  await t.step(
    "read a state file of the worker through the control plane",
    async () => {
      const r = await cluster.osctl([
        "-n",
        worker,
        "read",
        `${states[1]}/certs/apid/server.crt`,
      ]);
      assertEquals(r.code, 0, r.stderr);
      assertEquals(
        r.stdout,
        await Deno.readTextFile(`${states[1]}/certs/apid/server.crt`),
      );
    },
  );

  await t.step(
    "every way out of a root is refused, naming the path",
    async () => {
      const cases: [string, RegExp][] = [
        ["/etc/passwd", /path "\/etc\/passwd" is outside the allowed roots/],
        [
          `${states[1]}/../x`,
          /path ".*\/\.\.\/x" contains "\.\.": name the file directly/,
        ],
        [
          `${states[1]}/planted`,
          new RegExp(`path ".*/planted" leads outside its root`),
        ],
        ["/proc/self/root/etc/hostname", /leads outside its root "\/proc"/],
      ];
      for (const [path, want] of cases) {
        const r = await cluster.osctl(["-n", worker, "read", path]);
        assert(r.code !== 0, `${path}: ${r.stdout}`);
        assert(want.test(r.stderr), `${path}: ${r.stderr}`);
        assertEquals(r.stdout, "", path);
      }
      const ls = await cluster.osctl(["-n", worker, "ls", "/etc"]);
      assert(ls.code !== 0);
      assertIncludes(ls.stderr, 'path "/etc" is outside the allowed roots');
    },
  );

  await t.step("a reader lists but cannot read", async () => {
    using reader = await cluster.client({
      roles: ["os:reader"],
      nodes: [worker],
    });
    const names: string[] = [];
    for await (
      const f of reader.stream(MachineServiceService.list, {
        root: states[1],
        recurse: false,
        recursionDepth: 0,
        types: [],
        reportXattrs: false,
      })
    ) names.push(f.relativeName);
    assert(names.includes("certs"), names.join(","));
    await assertRejects(
      async () => {
        for await (
          const _ of reader.stream(MachineServiceService.read, {
            path: "/proc/sys/kernel/kptr_restrict",
          }, { singleNode: true })
        ) {
          // nothing may arrive
        }
      },
      ApiError,
      "Read needs one of os:admin",
    );
  });

  await t.step("usage: folders with sizes, -o yaml", async () => {
    const r = await cluster.osctl([
      ...all,
      "usage",
      "-d",
      "2",
      "-a",
      "/proc/sys/kernel/random",
    ]);
    assertEquals(r.code, 0, r.stderr);
    const rows = tableRows(r.stdout);
    assertEquals(rows[0], ["NODE", "SIZE", "NAME"]);
    for (const node of [cp, worker]) {
      const mine = rows.filter((row) => row[0] === node);
      assertEquals(mine.at(-1)?.[2], "/proc/sys/kernel/random", r.stdout);
      assert(mine.some((row) => row[2] === "/proc/sys/kernel/random/uuid"));
    }
    const y = await cluster.osctl([
      "-n",
      worker,
      "-o",
      "yaml",
      "usage",
      `${states[1]}/certs`,
    ]);
    assertEquals(y.code, 0, y.stderr);
    assertIncludes(y.stdout, `name: ${states[1]}/certs\n`);
  });

  await t.step(
    "cp: the worker's certs as a .tar.gz and extracted",
    async () => {
      const dest = `${outside.path}/certs.tar.gz`;
      const r = await cluster.osctl([
        "-n",
        worker,
        "cp",
        `${states[1]}/certs`,
        dest,
      ]);
      assertEquals(r.code, 0, r.stderr);
      const list = await new Deno.Command("tar", {
        args: ["-tzf", dest],
        stdout: "piped",
      }).output();
      assert(list.success);
      const names = new TextDecoder().decode(list.stdout).split("\n");
      assert(names.includes("apid/server.crt"), names.join(","));
      const into = `${outside.path}/certs-copy`;
      const x = await cluster.osctl([
        "-n",
        worker,
        "cp",
        `${states[1]}/certs`,
        into,
      ]);
      assertEquals(x.code, 0, x.stderr);
      assertIncludes(x.stderr, `extracted into ${into}: `);
      assertEquals(
        await Deno.readTextFile(`${into}/apid/server.crt`),
        await Deno.readTextFile(`${states[1]}/certs/apid/server.crt`),
      );
      const out = await cluster.osctl([
        "-n",
        worker,
        "cp",
        "/etc",
        `${outside.path}/etc.tar.gz`,
      ]);
      assert(out.code !== 0);
      assertIncludes(out.stderr, 'path "/etc" is outside the allowed roots');
      const left = [];
      for await (const e of Deno.readDir(outside.path)) left.push(e.name);
      assertEquals(left.sort(), ["certs-copy", "certs.tar.gz", "secret"]);
    },
  );
});
