import {
  assert,
  assertEquals,
  assertIncludes,
  assertThrows,
} from "../../lib/testing/mod.ts";
import { denoPermissionFlags, imageV8FlagsArgs } from "../../lib/layout/mod.ts";
import { daemonFlags, daemonProcess } from "./daemon_command.ts";

const ctx = {
  root: "/src",
  denoPath: "/usr/bin/deno",
  address: "127.5.0.2",
  hostname: "cp1",
  stateDir: "/state",
  controlPlane: true,
  natsPort: 4222,
  busUrl: "nats://127.5.0.2:4222",
};

Deno.test("daemonProcess() passes secrets on stdin only", async (t) => {
  const spec = daemonProcess("trustd", ctx, {
    busPassword: "0123456789abcdef0123456789abcdef",
    extra: {
      trustd: { caCrt: "CRT-PEM", caKey: "CA-KEY-PEM", token: "tok123.token" },
    },
  }, { PATH: "/bin", HOME: "/root", https_proxy: "http://proxy", SECRET: "x" });
  await t.step("stdin holds the bus credentials and extras", () => {
    const secrets = JSON.parse(new TextDecoder().decode(spec.stdin));
    assertEquals(secrets.bus, {
      url: "nats://127.5.0.2:4222",
      user: "trustd",
      pass: "0123456789abcdef0123456789abcdef",
    });
    assertEquals(secrets.trustd.caKey, "CA-KEY-PEM");
  });
  await t.step("argv and env hold no secret", () => {
    const all = [...spec.args, ...Object.values(spec.env)].join(" ");
    for (const s of ["0123456789abcdef", "CA-KEY-PEM", "tok123.token"]) {
      assert(!all.includes(s), `${s} leaked`);
    }
  });
  await t.step("env is an allow-list (no proxies, no foreign vars)", () => {
    assertEquals(spec.env, { PATH: "/bin", HOME: "/root", NO_COLOR: "1" });
  });
  await t.step(
    "deno run --no-prompt, least permissions, then the daemon's flags",
    () => {
      assertEquals(spec.command, "/usr/bin/deno");
      assertEquals(spec.args.slice(0, 4), [
        "run",
        "--no-prompt",
        "--config",
        "/src/deno.json",
      ]);
      assert(!spec.args.includes("-A") && !spec.args.includes("--allow-all"));
      assert(!spec.args.some((a) => a.startsWith("--allow-run")));
      assertIncludes(
        spec.args.join(" "),
        "/src/services/trustd/main.ts --address 127.5.0.2 --hostname cp1 --certs /state/certs/trustd",
      );
    },
  );
  await t.step(
    "bundles run without deno.json, with the image's V8 flags",
    () => {
      const s = daemonProcess(
        "udevd",
        { ...ctx, bundleDir: "/usr/lib/bronze" },
        {
          busPassword: "p".repeat(32),
        },
      );
      assert(!s.args.includes("--config"));
      for (
        const f of [
          "--no-config",
          "--no-lock",
          "--cached-only",
          ...imageV8FlagsArgs(),
        ]
      ) {
        assert(s.args.includes(f), f);
      }
      // The code cache is built under these flags; source runs keep V8's own.
      assert(
        !daemonProcess("udevd", ctx, { busPassword: "p".repeat(32) }).args
          .some((a) => a.startsWith("--v8-flags")),
      );
      assertIncludes(
        s.args.join(" "),
        "/usr/lib/bronze/udevd-lite.js --address",
      );
    },
  );
  await t.step("extras cannot replace the bus credentials", () => {
    const s = daemonProcess("udevd", ctx, {
      busPassword: "p".repeat(32),
      extra: { bus: { user: "apid" } },
    });
    assertEquals(
      JSON.parse(new TextDecoder().decode(s.stdin)).bus.user,
      "udevd",
    );
  });
});

Deno.test("daemonFlags() and denoPermissionFlags() per daemon", async (t) => {
  await t.step(
    "apid on a control plane forwards; on a worker it does not",
    () => {
      assertEquals(daemonFlags("apid", ctx), [
        "--address",
        "127.5.0.2",
        "--hostname",
        "cp1",
        "--certs",
        "/state/certs/apid",
        "--control-plane",
      ]);
      assert(
        !daemonFlags("apid", { ...ctx, controlPlane: false }).includes(
          "--control-plane",
        ),
      );
      const cp = denoPermissionFlags("apid", ctx).join(" ");
      assertIncludes(
        cp,
        "--allow-net=127.5.0.2:4222,127.5.0.2:50000,0.0.0.0:50000,0.0.0.0/0:50000",
      );
      assertIncludes(cp, "--allow-read=/state/certs/apid");
      const worker = denoPermissionFlags("apid", {
        ...ctx,
        controlPlane: false,
      }).join(" ");
      assert(!worker.includes("0.0.0.0/0"));
    },
  );
  await t.step("image mode: networkd applies, udevd loads modules", () => {
    const image = { ...ctx, applyNetwork: true, loadModules: true };
    assertEquals(daemonFlags("networkd", image).at(-1), "--apply");
    assertEquals(daemonFlags("udevd", image).at(-1), "--load-modules");
    assert(!daemonFlags("networkd", ctx).includes("--apply"));
    assert(!daemonFlags("udevd", ctx).includes("--load-modules"));
  });
  await t.step("the bus may live on its own host (image: loopback)", () => {
    const flags = denoPermissionFlags("networkd", {
      ...ctx,
      busHost: "127.0.0.1",
    });
    assertEquals(flags[0], "--allow-net=127.0.0.1:4222");
  });
  await t.step("only networkd and udevd get FFI", () => {
    for (const d of ["udevd", "networkd", "trustd", "apid"] as const) {
      assertEquals(
        denoPermissionFlags(d, ctx).includes("--allow-ffi"),
        d === "udevd" || d === "networkd",
        d,
      );
    }
  });
  await t.step("a comma in a granted path is refused", () => {
    assertThrows(
      () => denoPermissionFlags("apid", { ...ctx, stateDir: "/a,b" }),
      Error,
      '"/a,b/certs/apid": comma in path',
    );
  });
});
