import { parseNetworkdFlags } from "./flags.ts";
import {
  assertEquals,
  assertIncludes,
  assertThrows,
} from "../../lib/testing/mod.ts";

Deno.test("parseNetworkdFlags() parses strictly", async (t) => {
  await t.step("all flags", () => {
    assertEquals(
      parseNetworkdFlags([
        "--address",
        "fd00::2",
        "--hostname",
        "cp-1.cluster.local",
        "--apply",
        "--set-hostname",
      ]),
      {
        address: "fd00::2",
        hostname: "cp-1.cluster.local",
        apply: true,
        setHostname: true,
      },
    );
  });
  await t.step("--netns names a namespace", () => {
    const f = parseNetworkdFlags([
      "--address",
      "10.0.0.2",
      "--hostname",
      "n",
      "--netns",
      "/run/netns/node-1",
    ]);
    assertEquals(f.netns, "/run/netns/node-1");
  });
  await t.step("defaults", () => {
    const f = parseNetworkdFlags(["--address", "127.5.0.2", "--hostname", "n"]);
    assertEquals([f.apply, f.setHostname], [false, false]);
  });
  for (
    const [args, want] of [
      [
        ["--address", "127.0.0.1", "--hostname", "n", "--dhcp"],
        'unknown flag "--dhcp"',
      ],
      [["--address", "127.0.0.1", "--hostname", "n", "extra"], '"extra"'],
      [["--address", "localhost", "--hostname", "n"], '"localhost"'],
      [["--address", "127.0.0.1"], "--hostname is required"],
      [["--address", "127.0.0.1", "--hostname=-bad"], '"-bad"'],
      [["--address", "127.0.0.1", "--hostname", "a".repeat(64)], "RFC 1123"],
      [
        ["--address", "127.0.0.1", "--hostname", "n", "--netns", "/etc/passwd"],
        "expected /run/netns/NAME or /proc/PID/ns/net",
      ],
      [
        [
          "--address",
          "127.0.0.1",
          "--hostname",
          "n",
          "--netns=/run/netns/../x",
        ],
        "/run/netns/../x",
      ],
    ] as const
  ) {
    await t.step(args.join(" "), () => {
      assertIncludes(
        String(assertThrows(() => parseNetworkdFlags([...args]))),
        want,
      );
    });
  }
});
