import { parseUevent, UEVENT_MAX_BYTES } from "./uevent.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  assertThrows,
} from "../../lib/testing/mod.ts";

const enc = new TextEncoder();
function ev(fields: string[]): Uint8Array {
  return enc.encode(fields.join("\0") + "\0");
}

const ADD_DISK = [
  "add@/devices/virtual/block/loop3",
  "ACTION=add",
  "DEVPATH=/devices/virtual/block/loop3",
  "SUBSYSTEM=block",
  "MAJOR=7",
  "MINOR=3",
  "DEVNAME=loop3",
  "DEVTYPE=disk",
  "SEQNUM=4711",
];

Deno.test("parseUevent() reads a kernel uevent", () => {
  const e = parseUevent(ev(ADD_DISK));
  assertEquals(e.action, "add");
  assertEquals(e.devpath, "/devices/virtual/block/loop3");
  assertEquals(e.subsystem, "block");
  assertEquals(e.seqnum, 4711);
  assertEquals(e.env.DEVNAME, "loop3");
  assertEquals(Object.keys(e.env).length, 8);
});

Deno.test("parseUevent() refuses malformed events, saying why", async (t) => {
  const replace = (i: number, v: string) =>
    ev(ADD_DISK.map((f, j) => (j === i ? v : f)));
  const cases: Array<[string, Uint8Array, string]> = [
    ["empty", new Uint8Array(0), "empty datagram"],
    [
      "too long",
      new Uint8Array(UEVENT_MAX_BYTES + 1).fill(65),
      `more than ${UEVENT_MAX_BYTES}`,
    ],
    [
      "libudev message",
      enc.encode("libudev\0\xfe\xed\xca\xfe"),
      "a libudev message",
    ],
    ["no @ in header", replace(0, "add"), "is not ACTION@DEVPATH"],
    ["field without =", replace(4, "MAJOR"), '"MAJOR" is not KEY=VALUE'],
    ["lower-case key", replace(4, "major=7"), '"major" is not'],
    ["duplicate key", replace(4, "MINOR=9"), "MINOR appears twice"],
    ["missing SEQNUM", ev(ADD_DISK.slice(0, 8)), "SEQNUM is missing"],
    ["missing SUBSYSTEM", replace(3, "X=1"), "SUBSYSTEM is missing"],
    [
      "unknown action",
      ev([
        "zap@/devices/x",
        "ACTION=zap",
        "DEVPATH=/devices/x",
        "SUBSYSTEM=a",
        "SEQNUM=1",
      ]),
      'unknown action "zap"',
    ],
    ["header disagrees", replace(0, "add@/devices/other"), "disagrees"],
    [
      "relative devpath",
      ev([
        "add@devices/x",
        "ACTION=add",
        "DEVPATH=devices/x",
        "SUBSYSTEM=a",
        "SEQNUM=1",
      ]),
      "not an absolute path",
    ],
    [
      "dot-dot devpath",
      ev([
        "add@/devices/../x",
        "ACTION=add",
        "DEVPATH=/devices/../x",
        "SUBSYSTEM=a",
        "SEQNUM=1",
      ]),
      "not an absolute path",
    ],
    ["bad seqnum", replace(8, "SEQNUM=12a"), 'SEQNUM "12a"'],
    ["control character", replace(6, "DEVNAME=lo\x01op"), "control characters"],
    [
      "too many fields",
      ev([...ADD_DISK, ...Array.from({ length: 200 }, (_, i) => `K${i}=v`)]),
      "more than 128 fields",
    ],
    [
      "value too long",
      replace(6, `DEVNAME=${"x".repeat(5000)}`),
      "longer than 4096",
    ],
  ];
  for (const [name, data, want] of cases) {
    await t.step(name, () => {
      const err = assertThrows(() => parseUevent(data));
      assert(err instanceof Error);
      assertIncludes(err.message, "Cannot parse uevent: ");
      assertIncludes(err.message, want);
    });
  }
});

Deno.test("parseUevent() on mutated events: parses or refuses, nothing else", () => {
  // A small deterministic PRNG (xorshift32), so a failure repeats.
  let seed = 0x2545f491;
  const rand = (n: number) => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const base = ev(ADD_DISK);
  let parsed = 0;
  let refused = 0;
  for (let i = 0; i < 3000; i++) {
    const b = base.slice(0, 1 + rand(base.length + 40));
    const muts = 1 + rand(6);
    for (let m = 0; m < muts; m++) {
      const at = rand(b.length);
      switch (rand(4)) {
        case 0:
          b[at] = rand(256);
          break;
        case 1:
          b[at] = 0;
          break;
        case 2:
          b[at] = "=@/"[rand(3)].charCodeAt(0);
          break;
        default:
          b[at] = b[rand(b.length)];
      }
    }
    try {
      const e = parseUevent(b);
      assert(e.devpath.startsWith("/"));
      assert(Number.isSafeInteger(e.seqnum));
      parsed++;
    } catch (err) {
      assert(err instanceof Error, `non-Error thrown: ${String(err)}`);
      assert(
        err.message.startsWith("Cannot parse uevent: "),
        `unexpected error: ${err.message}`,
      );
      refused++;
    }
  }
  assertEquals(parsed + refused, 3000);
  assert(refused > 0);
});
