import { assert, assertEquals, assertThrows } from "../../lib/testing/mod.ts";
import { ApiError } from "../../lib/api_error/mod.ts";
import { route, type RouteOptions } from "./router.ts";

const CP: RouteOptions = {
  isSelf: (t) => t === "10.5.0.2" || t === "cp-1",
  canForward: true,
};
const WORKER: RouteOptions = {
  isSelf: (t) => t === "10.5.0.3" || t === "worker-1",
  canForward: false,
};

function fails(fn: () => unknown, status: string, text: string): void {
  const err = assertThrows(fn);
  assert(err instanceof ApiError, String(err));
  assertEquals(err.status, status);
  assert(err.message.includes(text), err.message);
}

Deno.test("route() picks local, one or many like Talos's director", async (t) => {
  await t.step("no target metadata: local", () => {
    assertEquals(route({ node: [], nodes: [], forwarded: false }, CP), {
      kind: "local",
    });
  });

  await t.step("node = self is local, node = other is one", () => {
    assertEquals(route({ node: ["cp-1"], nodes: [], forwarded: false }, CP), {
      kind: "local",
    });
    assertEquals(
      route({ node: ["10.5.0.3"], nodes: [], forwarded: false }, CP),
      { kind: "one", target: "10.5.0.3" },
    );
  });

  await t.step("nodes: every target, self marked, comma lists split", () => {
    assertEquals(
      route({
        node: [],
        nodes: ["10.5.0.2,10.5.0.3", "10.5.0.4", "10.5.0.3"],
        forwarded: false,
      }, CP),
      {
        kind: "many",
        targets: [
          { name: "10.5.0.2", self: true },
          { name: "10.5.0.3", self: false },
          { name: "10.5.0.4", self: false },
        ],
      },
    );
  });

  await t.step("a forwarded call is served locally whatever it names", () => {
    assertEquals(
      route({ node: ["10.5.0.9"], nodes: ["a", "b"], forwarded: true }, WORKER),
      { kind: "local" },
    );
  });

  await t.step("a worker refuses to forward but serves itself", () => {
    fails(
      () => route({ node: ["10.5.0.2"], nodes: [], forwarded: false }, WORKER),
      "PermissionDenied",
      "no request forwarding",
    );
    fails(
      () =>
        route(
          { node: [], nodes: ["10.5.0.3", "10.5.0.2"], forwarded: false },
          WORKER,
        ),
      "PermissionDenied",
      "no request forwarding",
    );
    assertEquals(
      route({ node: ["worker-1"], nodes: [], forwarded: false }, WORKER),
      { kind: "local" },
    );
    assertEquals(
      route({ node: [], nodes: ["10.5.0.3"], forwarded: false }, WORKER),
      { kind: "many", targets: [{ name: "10.5.0.3", self: true }] },
    );
  });

  await t.step("bad metadata is InvalidArgument", () => {
    fails(
      () => route({ node: ["a", "b"], nodes: [], forwarded: false }, CP),
      "InvalidArgument",
      "single-valued",
    );
    fails(
      () => route({ node: ["a,b"], nodes: [], forwarded: false }, CP),
      "InvalidArgument",
      "single-valued",
    );
    for (const bad of ["10.5.0.3:50000", "a b", "-x", "300.1.1.1", "x/y", ""]) {
      fails(
        () => route({ node: [], nodes: [bad || ","], forwarded: false }, CP),
        "InvalidArgument",
        "",
      );
    }
    fails(
      () =>
        route({
          node: [],
          nodes: Array.from({ length: 300 }, (_, i) => `n${i}`),
          forwarded: false,
        }, CP),
      "InvalidArgument",
      "too many nodes",
    );
  });

  await t.step("targets are IP literals, strictly; names only for self", () => {
    for (
      const bad of [
        ":::::::",
        "0x7f.1",
        "127.1",
        "300.1.1.1",
        "010.5.0.3",
        "::",
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "ff02::1",
        "fe80::1%eth0",
        "[fd00::2]",
        "worker-2",
        "localhost",
        "x".repeat(100_000),
      ]
    ) {
      for (
        const req of [
          { node: [bad], nodes: [], forwarded: false },
          { node: [], nodes: [bad], forwarded: false },
        ]
      ) {
        const err = assertThrows(() => route(req, CP));
        assert(err instanceof ApiError, String(err));
        assertEquals(err.status, "InvalidArgument", bad.slice(0, 20));
        assert(err.message.length < 200, err.message.slice(0, 200));
        assert(!/allow-net|Requires/.test(err.message), err.message);
      }
    }
    assertEquals(
      route({ node: [], nodes: ["cp-1", "10.5.0.3"], forwarded: false }, CP),
      {
        kind: "many",
        targets: [
          { name: "cp-1", self: true },
          { name: "10.5.0.3", self: false },
        ],
      },
    );
  });

  await t.step("IPv6 targets are accepted", () => {
    assertEquals(
      route({ node: ["fd00::2"], nodes: [], forwarded: false }, CP),
      {
        kind: "one",
        target: "fd00::2",
      },
    );
  });
});

Deno.test("route() with a member list forwards only to members", async (t) => {
  const members = new Map([["worker-1", "10.5.0.3"], ["cp-1", "10.5.0.2"]]);
  const withMembers: RouteOptions = {
    ...CP,
    members: {
      allows: (a) => [...members.values()].includes(a),
      addressOf: (h) => members.get(h),
    },
  };
  await t.step("a member's address is forwarded to", () => {
    assertEquals(
      route({ node: ["10.5.0.3"], nodes: [], forwarded: false }, withMembers),
      { kind: "one", target: "10.5.0.3" },
    );
  });
  await t.step("a non-member is refused, naming the target", () => {
    fails(
      () =>
        route({ node: ["10.5.0.9"], nodes: [], forwarded: false }, withMembers),
      "PermissionDenied",
      '"10.5.0.9"',
    );
    fails(
      () =>
        route(
          { node: [], nodes: ["10.5.0.3,10.5.0.9"], forwarded: false },
          withMembers,
        ),
      "PermissionDenied",
      '"10.5.0.9"',
    );
  });
  await t.step("a member hostname resolves from the list", () => {
    assertEquals(
      route({ node: ["Worker-1"], nodes: [], forwarded: false }, withMembers),
      { kind: "one", target: "Worker-1", address: "10.5.0.3" },
    );
    assertEquals(
      route({ node: [], nodes: ["worker-1", "cp-1"], forwarded: false }, {
        ...withMembers,
      }),
      {
        kind: "many",
        targets: [
          { name: "worker-1", self: false, address: "10.5.0.3" },
          { name: "cp-1", self: true },
        ],
      },
    );
  });
  await t.step("an unknown hostname is still refused, never resolved", () => {
    fails(
      () => route({ node: ["db-7"], nodes: [], forwarded: false }, withMembers),
      "InvalidArgument",
      "no member has this hostname",
    );
  });
});
