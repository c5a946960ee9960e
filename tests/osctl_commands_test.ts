/**
 * osctl against a real 2-node process-mode cluster: the node-information
 * commands (memory, processes sorted and --watch redrawing in place, disks;
 * a NODE column, -o json|yaml), one clear line per failure (an endpoint down,
 * a foreign CA on either side, unknown ids and commands).
 */
import { COMMANDS } from "../cli/commands/mod.ts";
import { CLEAR_SCREEN } from "../cli/commands/processes.ts";
import { dispatch } from "../cli/dispatch.ts";
import { parseYaml } from "../lib/config/mod.ts";
import { dirname, join } from "node:path";
import { loadClientConfig, saveClientConfig } from "../lib/clientconfig/mod.ts";
import { loadSecretsBundle } from "../lib/config/mod.ts";
import { parseCertificate } from "../lib/pki/mod.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  tempDir,
} from "../lib/testing/mod.ts";
import { startTestCluster } from "./cluster_harness.ts";
import { runOsctl } from "./osctl_runner.ts";
import {
  waitForReboot,
  waitForShutdown,
  waitTargets,
} from "../cli/client/wait_nodes.ts";

/** The rows of a table as arrays of cells (columns 3+ spaces apart). */
function tableRows(text: string): string[][] {
  return text.trimEnd().split("\n").map((l) => l.split(/ {3,}/));
}

Deno.test("osctl commands on a 2-node cluster", async (t) => {
  await using cluster = await startTestCluster({
    cidr: "127.16.1.0/24",
    nodes: 2,
  });
  const nodes = cluster.addresses;
  const all = ["-n", nodes.join(",")];
  const g = ["--osconfig", cluster.osconfig];

  await t.step("memory: a row per node, in MiB", async () => {
    const r = await cluster.osctl([...all, "memory"]);
    assertEquals(r.code, 0, r.stderr);
    const rows = tableRows(r.stdout);
    assertEquals(rows[0], [
      "NODE",
      "TOTAL",
      "USED",
      "FREE",
      "SHARED",
      "BUFFERS",
      "CACHE",
      "AVAILABLE",
    ]);
    assertEquals(rows.slice(1).map((r) => r[0]).sort(), [...nodes].sort());
    const totalKb = Number(
      /MemTotal:\s+(\d+)/.exec(await Deno.readTextFile("/proc/meminfo"))![1],
    );
    for (const row of rows.slice(1)) {
      assertEquals(Number(row[1]), Math.floor(totalKb / 1024), row.join(" "));
      assert(Number(row[3]) > 0 && Number(row[3]) <= Number(row[1]));
    }
  });

  await t.step("memory -o json and free -o yaml: the whole reply", async () => {
    const j = await cluster.osctl([...all, "memory", "-o", "json"]);
    assertEquals(j.code, 0, j.stderr);
    const reply = JSON.parse(j.stdout) as {
      messages: {
        metadata: { hostname: string };
        meminfo: { memtotal: string };
      }[];
    };
    assertEquals(
      reply.messages.map((m) => m.metadata.hostname).sort(),
      [...nodes].sort(),
    );
    assert(Number(reply.messages[0].meminfo.memtotal) > 0);
    const y = await cluster.osctl([...all, "-o", "yaml", "free"]);
    assertEquals(y.code, 0, y.stderr);
    const doc = parseYaml(y.stdout, { what: "osctl output" }) as {
      messages: unknown[];
    };
    assertEquals(doc.messages.length, 2);
  });

  await t.step(
    "processes: each node's machined, sorted by memory",
    async () => {
      const r = await cluster.osctl(["-n", nodes[1], "processes"]);
      assertEquals(r.code, 0, r.stderr);
      const rows = tableRows(r.stdout);
      assertEquals(rows[0].slice(0, 5), [
        "NODE",
        "PID",
        "STATE",
        "THREADS",
        "CPU-TIME",
      ]);
      const body = rows.slice(1);
      assert(body.every((row) => row[0] === nodes[1]));
      const machined = body.find((row) => row[7] === "machined");
      assert(machined, "a row labelled machined");
      assertEquals(Number(machined[1]), cluster.record.nodes[1].pid);
      // Sorted by resident memory, largest first (the sizes shown keep the
      // order: humanBytes never turns a larger size into a smaller one).
      const units: Record<string, number> = {
        B: 1,
        kB: 1e3,
        MB: 1e6,
        GB: 1e9,
        TB: 1e12,
      };
      const rss = body.map((row) => {
        const [n, unit] = row[6].split(" ");
        return Number(n) * units[unit];
      });
      assert(rss.length > 3 && rss.every(Number.isFinite), `${rss}`);
      for (let i = 1; i < rss.length; i++) {
        assert(rss[i - 1] >= rss[i], `rows sorted by RSS: ${rss}`);
      }
      const j = await cluster.osctl(["-n", nodes[1], "ps", "-o", "json"]);
      assertEquals(j.code, 0, j.stderr);
      const procs = (JSON.parse(j.stdout) as {
        messages: { processes: { pid: number }[] }[];
      }).messages[0].processes;
      assert(procs.some((p) => p.pid === cluster.record.nodes[1].pid));
    },
  );

  await t.step("ps --sort cpu orders by CPU time", async () => {
    const r = await cluster.osctl(["-n", nodes[0], "ps", "--sort", "cpu"]);
    assertEquals(r.code, 0, r.stderr);
    const cpu = tableRows(r.stdout).slice(1).map((row) => Number(row[4]));
    assert(cpu.length > 3);
    for (let i = 1; i < cpu.length; i++) assert(cpu[i - 1] >= cpu[i], `${cpu}`);
    const bad = await cluster.osctl(["ps", "--sort", "pid"]);
    assertEquals(bad.code, 2);
    assertIncludes(bad.stderr, `--sort "pid": want rss, memory or cpu`);
  });

  await t.step("ps --watch redraws in place until interrupted", async () => {
    const ac = new AbortController();
    let out = "";
    let err = "";
    const code = await dispatch(COMMANDS, [
      "--osconfig",
      cluster.osconfig,
      ...all,
      "ps",
      "--watch",
      "--interval",
      "1s",
    ], {
      io: {
        stdout: (s) => {
          out += s;
          if (out.split(CLEAR_SCREEN).length > 3) ac.abort();
        },
        stderr: (s) => (err += s),
      },
      signal: ac.signal,
    });
    assertEquals(code, 0, err);
    const frames = out.split(CLEAR_SCREEN).slice(1);
    assert(frames.length >= 3, `${frames.length} frames`);
    for (const frame of frames) {
      assertIncludes(frame, "NODE ");
      for (const n of nodes) assertIncludes(frame, `\n${n} `);
    }
    // On a 16x70 terminal each frame fits it: 6 processes a node.
    const small = new AbortController();
    let fitted = "";
    assertEquals(
      await dispatch(COMMANDS, [...g, ...all, "ps", "-w", "--interval", "1s"], {
        io: {
          stdout: (s) => {
            fitted += s;
            if (fitted.split(CLEAR_SCREEN).length > 2) small.abort();
          },
          stderr: (s) => (err += s),
          terminalSize: () => ({ rows: 16, columns: 70 }),
        },
        signal: small.signal,
      }),
      0,
      err,
    );
    for (const frame of fitted.split(CLEAR_SCREEN).slice(1)) {
      const lines = frame.trimEnd().split("\n");
      assert(lines.length <= 16, `${lines.length} lines`);
      assert(lines.every((l) => l.length < 70), frame);
      for (const n of nodes) {
        assertEquals(lines.filter((l) => l.startsWith(`${n} `)).length, 6);
      }
    }
  });

  await t.step("disks: a row per device with NODE first", async () => {
    const r = await cluster.osctl([...all, "disks"]);
    assertEquals(r.code, 0, r.stderr);
    const rows = tableRows(r.stdout);
    assertEquals(rows[0].slice(0, 3), ["NODE", "DEV", "MODEL"]);
    const blocks = [...Deno.readDirSync("/sys/block")].length;
    for (const n of nodes) {
      assertEquals(rows.filter((row) => row[0] === n).length, blocks, n);
    }
    const j = await cluster.osctl([...all, "disks", "-o", "json"]);
    assertEquals(
      (JSON.parse(j.stdout) as { messages: unknown[] }).messages.length,
      2,
    );
  });

  await t.step("a node that is down: the others answer, exit 1", async () => {
    const r = await cluster.osctl(["-n", `${nodes[0]},127.16.1.99`, "memory"]);
    assertEquals(r.code, 1);
    assertIncludes(r.stdout, `\n${nodes[0]} `);
    assertIncludes(r.stderr, "127.16.1.99:");
  });

  await t.step(
    "a node that hangs: its leg's deadline, in one line",
    async () => {
      const svc = await cluster.osctl([
        "-n",
        nodes[1],
        "-o",
        "json",
        "service",
        "apid",
      ]);
      assertEquals(svc.code, 0, svc.stderr);
      const pid = (JSON.parse(svc.stdout) as {
        messages: { services: { pid: number }[] }[];
      }).messages[0].services[0].pid;
      assert(pid > 1, `apid pid ${pid}`);
      Deno.kill(pid, "SIGSTOP");
      try {
        const r = await cluster.osctl([...all, "version"]);
        assertEquals(r.code, 1);
        assertIncludes(r.stdout, `NODE:        ${nodes[0]}`);
        assert(
          new RegExp(
            `\\* ${nodes[1]}: no answer from ${
              nodes[1]
            }:50000 within \\d+ s\\n$`,
          )
            .test(r.stderr) ||
            new RegExp(
              `\\* ${nodes[1]}: no answer from "${
                nodes[1]
              }" within \\d+ ms\\n$`,
            )
              .test(r.stderr),
          r.stderr,
        );
      } finally {
        Deno.kill(pid, "SIGCONT");
      }
    },
  );

  await t.step("an endpoint that is down: one line saying so", async () => {
    const r = await cluster.osctl(["-e", "127.16.1.99", "version"]);
    assertEquals(r.code, 1);
    assertEquals(
      r.stderr,
      "osctl version: cannot connect to 127.16.1.99:50000: connection refused\n",
    );
    const n = await cluster.osctl(["-n", "127.16.1.99", "memory"]);
    assertEquals(n.code, 1);
    assertIncludes(
      n.stderr,
      "127.16.1.99: cannot connect to 127.16.1.99:50000",
    );
    assert(!n.stderr.includes("Resolution note"), n.stderr);
  });

  await t.step("another cluster's CA: said for what it is", async () => {
    await using dir = await tempDir();
    const gen = await runOsctl([
      "gen",
      "config",
      "other",
      "https://127.16.1.2:6443",
      "-o",
      dir.path,
    ]);
    assertEquals(gen.code, 0, gen.stderr);
    const foreign = join(dir.path, "osconfig");
    const r = await runOsctl([
      "--osconfig",
      foreign,
      "-e",
      nodes[0],
      "version",
    ]);
    assertEquals(r.code, 1);
    assertEquals(
      r.stderr,
      `osctl version: the certificate of endpoint ${
        nodes[0]
      }:50000 is not from the CA of context "other"\n`,
    );
    // The right CA but a client certificate from another: apid refuses it.
    const ours = await loadClientConfig(cluster.osconfig);
    const theirs = await loadClientConfig(foreign);
    const mixed = ours.contexts[ours.context!];
    const other = theirs.contexts[theirs.context!];
    mixed.crt = other.crt;
    mixed.key = other.key;
    const path = join(dir.path, "mixed");
    await saveClientConfig(path, ours);
    const m = await runOsctl(["--osconfig", path, "version"]);
    assertEquals(m.code, 1);
    assertEquals(m.stderr.split("\n").length, 2, m.stderr);
    assertIncludes(
      m.stderr,
      `does not accept the client certificate of context "${ours.context}"`,
    );
  });

  await t.step("an unknown service or log lists the valid ids", async () => {
    const ids = "valid ids: apid, machined, nats, networkd, trustd, udevd";
    const r = await cluster.osctl([
      "-n",
      nodes[1],
      "service",
      "apidd",
      "restart",
    ]);
    assertEquals(r.code, 1);
    assertIncludes(
      r.stderr,
      `${nodes[1]}: service "apidd" not defined; ${ids}`,
    );
    const s = await cluster.osctl(["-n", nodes[1], "service", "apidd"]);
    assertEquals(s.code, 1);
    assertIncludes(s.stderr, `; ${ids}`);
    const l = await cluster.osctl(["-n", nodes[1], "logs", "apidd"]);
    assertEquals(l.code, 1);
    assertIncludes(
      l.stderr,
      `${nodes[1]}: log "apidd" was not registered; ${ids}`,
    );
  });

  await t.step("a mistyped command or flag: the nearest one", async () => {
    const c = await cluster.osctl(["memroy"]);
    assertEquals(c.code, 2);
    assertIncludes(
      c.stderr,
      'unknown command "memroy"; did you mean "memory"?',
    );
    const f = await cluster.osctl(["ps", "--wacth"]);
    assertEquals(f.code, 2);
    assertIncludes(f.stderr, "unknown flag --wacth; did you mean --watch?");
    const cv = await runOsctl(["version", "--client", "-o", "json"]);
    assertEquals(cv.code, 0, cv.stderr);
    assertEquals(
      (JSON.parse(cv.stdout) as { clientVersion: { denoVersion: string } })
        .clientVersion.denoVersion,
      Deno.version.deno,
    );
    const missing = await runOsctl([
      "--osconfig",
      "/nonexistent/osconfig",
      "version",
    ]);
    assertEquals(missing.code, 1);
    assertEquals(
      missing.stderr,
      'osctl version: Cannot read client config "/nonexistent/osconfig": No such file or directory\n',
    );
    const g = await cluster.osctl(["config"]);
    assertEquals(g.code, 0);
    assertIncludes(g.stdout, "config info");
  });

  await t.step(
    "gen key, csr, crt and config add: a reader's context",
    async () => {
      await using dir = await tempDir();
      const d = dir.path;
      await Deno.writeTextFile(`${d}/cluster.crt`, cluster.ca.crtPem);
      await Deno.writeTextFile(`${d}/cluster.key`, cluster.ca.keyPem);
      for (
        const args of [
          ["gen", "key", "--name", `${d}/op`],
          [
            "gen",
            "csr",
            "--key",
            `${d}/op.key`,
            "--ip",
            "127.0.0.1",
            "--roles",
            "os:reader",
          ],
          [
            "gen",
            "crt",
            "--ca",
            `${d}/cluster`,
            "--csr",
            `${d}/op.csr`,
            "--name",
            `${d}/op`,
            "--hours",
            "1",
          ],
        ]
      ) {
        const r = await runOsctl(args);
        assertEquals(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
      }
      for (const f of ["op.key", "op.csr", "op.crt"]) {
        assertEquals((await Deno.stat(`${d}/${f}`)).mode! & 0o777, 0o600, f);
      }
      const again = await runOsctl(["gen", "key", "--name", `${d}/op`]);
      assertEquals(again.code, 1);
      assertIncludes(again.stderr, "exists; use --force to overwrite it");
      const add = await cluster.osctl([
        "config",
        "add",
        "reader",
        "--ca",
        `${d}/cluster.crt`,
        "--crt",
        `${d}/op.crt`,
        "--key",
        `${d}/op.key`,
        "-e",
        nodes[0],
        "-n",
        nodes[1],
      ]);
      assertEquals(add.code, 0, add.stderr);
      const info = await cluster.osctl([
        "--context",
        "reader",
        "config",
        "info",
      ]);
      assertIncludes(info.stdout, "Roles:               os:reader");
      assertIncludes(info.stdout, `Nodes:               ${nodes[1]}`);
      const v = await cluster.osctl(["--context", "reader", "version"]);
      assertEquals(v.code, 0, v.stderr);
      assertIncludes(v.stdout, `NODE:        ${nodes[1]}`);
      const denied = await cluster.osctl([
        "--context",
        "reader",
        "service",
        "apid",
        "restart",
      ]);
      assertEquals(denied.code, 1);
      assertEquals(denied.stderr.split("\n").length, 2, denied.stderr);
      assertIncludes(
        denied.stderr,
        `osctl service: not authorized: ServiceRestart needs one of os:admin, os:operator (the client certificate of context "reader" has os:reader)`,
      );
      // A certificate from another CA is refused when added, not at the first call.
      const gen = await runOsctl(["gen", "ca", "--organization", "other"], {
        cwd: d,
      });
      assertEquals(gen.code, 0, gen.stderr);
      const wrong = await cluster.osctl([
        "config",
        "add",
        "wrong",
        "--ca",
        `${d}/other.crt`,
        "--crt",
        `${d}/op.crt`,
        "--key",
        `${d}/op.key`,
      ]);
      assertEquals(wrong.code, 1);
      assertIncludes(wrong.stderr, "is not signed by --ca");
      const dup = await cluster.osctl([
        "config",
        "add",
        "reader",
        "--ca",
        `${d}/cluster.crt`,
        "--crt",
        `${d}/op.crt`,
        "--key",
        `${d}/op.key`,
      ]);
      assertEquals(dup.code, 1);
      assertIncludes(dup.stderr, 'context "reader" is already in');
    },
  );

  await t.step(
    "config remove: by glob, never the current context",
    async () => {
      const ask = await cluster.osctl(["config", "remove", "reader"]);
      assertEquals(ask.code, 2);
      assertIncludes(ask.stderr, "give -y to remove without asking");
      const dry = await cluster.osctl([
        "config",
        "remove",
        "read*",
        "--dry-run",
      ]);
      assertEquals(dry.code, 0, dry.stderr);
      assertIncludes(dry.stderr, 'would remove context "reader"');
      const current = (await loadClientConfig(cluster.osconfig)).context;
      const rm = await cluster.osctl(["config", "remove", "*", "-y"]);
      assertEquals(rm.code, 0, rm.stderr);
      assertIncludes(rm.stderr, 'removing context "reader"');
      assertIncludes(rm.stderr, `skipping the current context "${current}"`);
      const after = await loadClientConfig(cluster.osconfig);
      assertEquals(Object.keys(after.contexts), [current]);
      const none = await cluster.osctl(["config", "remove", "nope", "-y"]);
      assertEquals(none.code, 1);
      assertIncludes(none.stderr, `no context matches "nope"`);
    },
  );

  await t.step("gen secrets and gen ca write what talosctl's do", async () => {
    await using dir = await tempDir();
    const d = dir.path;
    const s = await runOsctl(["gen", "secrets", "-o", `${d}/secrets.yaml`]);
    assertEquals(s.code, 0, s.stderr);
    const bundle = await loadSecretsBundle(`${d}/secrets.yaml`);
    assert(bundle.trustdinfo.token.length > 10);
    assert(bundle.certs.os.key.length > 0);
    const out = await runOsctl(["gen", "secrets", "-o", "-"]);
    assertEquals(out.code, 0, out.stderr);
    assertIncludes(out.stdout, "token:");
    const ca = await runOsctl([
      "gen",
      "ca",
      "--organization",
      "acme",
      "--hours",
      "48",
    ], { cwd: d });
    assertEquals(ca.code, 0, ca.stderr);
    const crt = await Deno.readTextFile(`${d}/acme.crt`);
    const info = await parseCertificate(crt);
    assertEquals(info.subject.organizations, ["acme"]);
    const hours = (info.notAfter.getTime() - Date.now()) / 3600_000;
    assert(hours > 47 && hours <= 48, `${hours} h`);
    // The hash is of the CA's public key, as openssl computes it.
    const der = await new Deno.Command("sh", {
      args: [
        "-c",
        `openssl x509 -in acme.crt -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum`,
      ],
      cwd: d,
      stdout: "piped",
    }).output();
    const hex = new TextDecoder().decode(der.stdout).split(" ")[0];
    assertEquals(await Deno.readTextFile(`${d}/acme.sha256`), `sha256:${hex}`);
  });

  await t.step(
    "logs and dmesg -o json|yaml: {node, line} per line",
    async () => {
      const r = await cluster.osctl([
        ...all,
        "logs",
        "machined",
        "--tail",
        "3",
        "-o",
        "json",
      ]);
      assertEquals(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split("\n").map((l) =>
        JSON.parse(l) as { node: string; line: string }
      );
      assertEquals(lines.length, 6);
      assertEquals(
        [...new Set(lines.map((l) => l.node))].sort(),
        [...nodes].sort(),
      );
      assert(lines.every((l) => l.line.length > 0 && !l.line.includes("\n")));
      const y = await cluster.osctl([
        "-n",
        nodes[0],
        "logs",
        "machined",
        "--tail",
        "2",
        "-o",
        "yaml",
      ]);
      assertEquals(y.code, 0, y.stderr);
      assertEquals(y.stdout.split("---\n").length, 3, y.stdout);
    },
  );

  let actor = "";
  await t.step(
    "reboot --wait: each node's progress until it is back",
    async () => {
      const r = await cluster.osctl([
        ...all,
        "reboot",
        "--wait",
        "--timeout",
        "3m",
      ]);
      assertEquals(r.code, 0, r.stderr);
      for (const n of nodes) {
        assertIncludes(r.stdout, `${n}: rebooting (actor `);
        assertIncludes(r.stdout, `${n}: back: reboot: All services are up`);
      }
      actor = tableRows(r.stdout).find((row) => row[0] === nodes[1])![1];
      assert(/^[0-9a-f-]{36}$/.test(actor), actor);
      // Back means serving: every service of both nodes is up again.
      const s = await cluster.osctl([...all, "services"]);
      assertEquals(s.code, 0, s.stderr);
      for (const row of tableRows(s.stdout).slice(1)) {
        assert(["Running", "Skipped"].includes(row[2]), row.join(" "));
      }
    },
  );

  await t.step(
    "reboot --wait with no nodes: the endpoint's own node",
    async () => {
      await using dir = await tempDir();
      const own = join(dir.path, "osconfig");
      await Deno.copyFile(cluster.osconfig, own);
      const clear = await runOsctl(["--osconfig", own, "config", "node"]);
      assertEquals(clear.code, 0, clear.stderr);
      const r = await runOsctl([
        "--osconfig",
        own,
        "-e",
        nodes[1],
        "reboot",
        "--wait",
        "--timeout",
        "3m",
      ]);
      assertEquals(r.code, 0, r.stderr);
      assertIncludes(r.stdout, `${nodes[1]}: rebooting (actor `);
      assertIncludes(
        r.stdout,
        `${nodes[1]}: back: reboot: All services are up`,
      );
    },
  );

  await t.step("events --actor-id, --since, --duration", async () => {
    type Ev = {
      id: string;
      type: string;
      service?: string;
      state: string;
      message: string;
      ts: string;
    };
    const parse = (out: string) =>
      out.trim().split("\n").map((l) => JSON.parse(l) as Ev);
    const byActor = parse(
      await osctlUntil(
        [...g, "-n", nodes[1], "-o", "json", "events", "--actor-id", actor],
        (out) => out.includes("reboot: All services are up"),
      ),
    );
    assertEquals(byActor[0].state, "start");
    assertIncludes(byActor[0].message, `(actor ${actor})`);
    assertEquals(byActor.at(-1)!.message, "reboot: All services are up");
    assert(byActor.some((e) => e.service === "apid" && e.state === "Stopping"));
    // The table has the same rows.
    const table = await osctlUntil(
      [...g, "-n", nodes[1], "events", "--actor-id", actor],
      (out) => out.includes("reboot: All services are up"),
    );
    assertEquals(table.trim().split("\n").length, byActor.length + 1);
    const startId = byActor[0].id;
    const after = parse(
      await osctlUntil(
        [...g, "-n", nodes[1], "-o", "json", "events", "--since", startId],
        (out) => out.includes("reboot: All services are up"),
      ),
    ).map((e) => e.id);
    const boot = startId.replace(/-\d+$/, "");
    const seq = Number(startId.split("-").at(-1));
    assertEquals(after[0], `${boot}-${seq + 1}`);
    assert(!after.includes(startId));
    // --duration: a restart made now shows; the first boot, long past, does not.
    const from = Date.now();
    const recent = osctlUntil(
      [...g, "-n", nodes[1], "-o", "json", "events", "--duration", "3s"],
      (out) => /"service":"udevd","state":"Running"/.test(out),
    );
    const restart = await cluster.osctl([
      "-n",
      nodes[1],
      "service",
      "udevd",
      "restart",
    ]);
    assertEquals(restart.code, 0, restart.stderr);
    const lines = (await recent).trim().split("\n").map((l) =>
      JSON.parse(l) as { ts: string; message: string }
    );
    assert(lines.length > 0);
    for (const e of lines) {
      assert(Date.parse(e.ts) >= from - 4000, `${e.ts} is older than 3 s`);
    }
    assert(!lines.some((e) => e.message.startsWith("boot:")));
  });

  await t.step(
    "--wait is bounded: a node that never gets there is reported",
    async () => {
      let out = "";
      const ctx = {
        globals: {
          nodes: [nodes[1]],
          endpoints: [],
          output: "table" as const,
          osconfig: cluster.osconfig,
        },
        io: { stdout: (s: string) => void (out += s), stderr: () => {} },
        signal: new AbortController().signal,
      };
      const targets = await waitTargets(ctx, {
        nodes: [nodes[1]],
        defaultNode: nodes[0],
      });
      for (const t of targets) t.actorId = "no-such-actor";
      try {
        const t0 = Date.now();
        assertEquals(
          await waitForReboot(ctx, targets, {
            timeoutMs: 1500,
            intervalMs: 200,
          }),
          1,
        );
        assertIncludes(
          out,
          `${nodes[1]}: not back after 2s (last seen: rebooting)`,
        );
        assertEquals(
          await waitForShutdown(ctx, targets, {
            timeoutMs: 1500,
            intervalMs: 200,
          }),
          1,
        );
        assertIncludes(out, `${nodes[1]}: still answering after 2s`);
        assert(Date.now() - t0 < 15_000, "both waits ended near their bound");
      } finally {
        for (const t of targets) t.client.close();
      }
    },
  );

  await t.step(
    "shutdown --wait: until the node no longer answers",
    async () => {
      const r = await cluster.osctl([
        "-n",
        nodes[1],
        "shutdown",
        "--wait",
        "--timeout",
        "2m",
      ]);
      assertEquals(r.code, 0, r.stderr);
      assertIncludes(r.stdout, `${nodes[1]}: shutting down (actor `);
      assertIncludes(
        r.stdout,
        `${nodes[1]}: down: cannot connect to ${nodes[1]}:50000`,
      );
      const v = await cluster.osctl(["-n", nodes[1], "version"]);
      assertEquals(v.code, 1);
    },
  );

  await t.step("cluster show -o json: each node's pid and answer", async () => {
    const r = await runOsctl([
      "--osconfig",
      cluster.osconfig,
      "cluster",
      "show",
      "--name",
      "test",
      "-o",
      "json",
    ], {
      env: { BRONZE_CLUSTERS_DIR: dirname(cluster.dir) },
    });
    assertEquals(r.code, 1, r.stderr);
    const shown = JSON.parse(r.stdout) as {
      name: string;
      nodes: {
        address: string;
        pid: number;
        answers: boolean;
        error: string;
      }[];
    };
    assertEquals(shown.name, "test");
    assertEquals(
      shown.nodes.map((n) => n.pid),
      cluster.record.nodes.map((n) => n.pid),
    );
    assertEquals(shown.nodes[0].answers, true);
    assertEquals(shown.nodes[0].error, "");
    // The node shut down above.
    assertEquals(shown.nodes[1].answers, false);
    assert(
      shown.nodes[1].error.length > 0 &&
        !shown.nodes[1].error.includes("Resolution note"),
      shown.nodes[1].error,
    );
  });
});

/** Runs osctl in this process until `done(stdout)` (or 60 s), then interrupts it. */
async function osctlUntil(
  argv: string[],
  done: (out: string) => boolean,
): Promise<string> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), 60_000);
  let out = "";
  let err = "";
  try {
    const code = await dispatch(COMMANDS, argv, {
      io: {
        stdout: (s) => {
          out += s;
          if (done(out)) ac.abort();
        },
        stderr: (s) => (err += s),
      },
      signal: ac.signal,
    });
    assertEquals(code, 0, err);
    assert(done(out), `not seen within 60 s: ${out}${err}`);
    return out;
  } finally {
    clearTimeout(timer);
  }
}
