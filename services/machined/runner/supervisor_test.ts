import { ApiError } from "../../../lib/api_error/mod.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  assertThrows,
  waitUntil,
} from "../../../lib/testing/mod.ts";
import type { ServiceEvent } from "./history.ts";
import { GroupProcessRunner } from "./process_runner.ts";
import type { ServiceSpec } from "./service.ts";
import { Supervisor, topologicalOrder } from "./supervisor.ts";

const ENV = { PATH: "/usr/bin:/bin" };
const FAST_HEALTH = {
  initialDelayMs: 0,
  periodMs: 50,
  retryMs: 20,
  timeoutMs: 500,
};

function sh(
  id: string,
  script: string,
  more: Partial<ServiceSpec> = {},
): ServiceSpec {
  return {
    id,
    process: () => ({ command: "/bin/sh", args: ["-c", script], env: ENV }),
    graceMs: 2000,
    ...more,
  };
}

function recorder(): {
  events: Array<ServiceEvent & { id: string }>;
  onEvent: (id: string, e: ServiceEvent) => void;
} {
  const events: Array<ServiceEvent & { id: string }> = [];
  return { events, onEvent: (id, e) => events.push({ id, ...e }) };
}

Deno.test("Supervisor starts after dependencies are up and stops in reverse", async (t) => {
  let aHealthy = false;
  const rec = recorder();
  const lines: string[] = [];
  const sup = new Supervisor([
    sh("b", "echo b-up; exec sleep 30", { dependsOn: ["a"] }),
    sh("a", "exec sleep 30", {
      health: () =>
        aHealthy ? Promise.resolve() : Promise.reject(new Error("not yet")),
      healthSettings: FAST_HEALTH,
    }),
    sh("skipme", "exit 0", { condition: () => "Control plane only" }),
  ], {
    runner: new GroupProcessRunner(),
    onEvent: rec.onEvent,
    onLine: (id, l) => lines.push(`${id}:${l}`),
  });
  try {
    await t.step("start order follows dependencies", () => {
      assertEquals(sup.order, ["a", "b", "skipme"]);
    });
    sup.startAll();
    await t.step("b waits while a is unhealthy", async () => {
      await waitUntil(() => sup.get("a").state === "Running");
      await waitUntil(() =>
        sup.get("a").events.some((e) =>
          e.message === "Health check failed: not yet"
        )
      );
      const b = sup.get("b");
      assertEquals(b.state, "Waiting");
      assertEquals(
        b.events.at(-1)?.message,
        'Waiting for service "a" to be up',
      );
      assertEquals(b.pid, 0);
    });
    await t.step("b starts once a is healthy; output is captured", async () => {
      aHealthy = true;
      await waitUntil(() => sup.get("b").state === "Running");
      assert(sup.isUp("a"));
      assert(sup.get("b").pid > 0);
      await waitUntil(() => lines.includes("b:b-up"));
      const states = sup.get("b").events.map((e) => e.state);
      assertEquals(states, [
        "Starting",
        "Waiting",
        "Preparing",
        "Preparing",
        "Running",
      ]);
      assertIncludes(
        sup.get("b").events.at(-1)!.message,
        "Started process (PID",
      );
    });
    await t.step("a skipped service is Skipped and counts as up", () => {
      assertEquals(sup.get("skipme").state, "Skipped");
      assertEquals(sup.get("skipme").events[0].message, "Control plane only");
      assert(sup.isUp("skipme"));
    });
    await t.step("restart gives a new pid", async () => {
      const before = sup.get("b").pid;
      await sup.restart("b");
      await waitUntil(() => sup.get("b").state === "Running");
      assert(sup.get("b").pid !== before);
    });
    await t.step("unknown id -> NotFound", () => {
      const err = assertThrows(() => sup.start("nope"));
      assert(err instanceof ApiError);
      assertEquals(err.status, "NotFound");
      assertEquals(err.message, 'service "nope" not defined');
    });
    await t.step("stopAll stops dependents first", async () => {
      rec.events.length = 0;
      await sup.stopAll();
      const stops = rec.events.filter((e) => e.state === "Stopping").map((e) =>
        e.id
      );
      assertEquals(stops, ["b", "a"]);
      assertEquals(sup.get("a").state, "Finished");
      assertEquals(sup.get("b").state, "Finished");
      assertEquals(sup.get("a").pid, 0);
    });
  } finally {
    await sup.stopAll();
  }
});

Deno.test("ServiceRunner restarts an exiting service with growing backoff", async (t) => {
  const sup = new Supervisor([
    sh("crashy", "echo boom >&2; exit 3", {
      backoff: { initialMs: 40, maxMs: 160, jitter: 0 },
    }),
  ], { runner: new GroupProcessRunner() });
  try {
    sup.startAll();
    await t.step("history says why and when", async () => {
      await waitUntil(() =>
        sup.get("crashy").events.some((e) => e.message.includes("attempt 5"))
      );
      const msgs = sup.get("crashy").events.map((e) => e.message);
      assert(
        msgs.some((m) => /^Process \d+ exited: code 3$/.test(m)),
        msgs.join("\n"),
      );
      const delays = msgs.filter((m) => m.startsWith("Restarting in"));
      assertEquals(delays.slice(0, 5), [
        "Restarting in 0.04 s (attempt 1)",
        "Restarting in 0.08 s (attempt 2)",
        "Restarting in 0.16 s (attempt 3)",
        "Restarting in 0.16 s (attempt 4)",
        "Restarting in 0.16 s (attempt 5)",
      ]);
      const failed = sup.get("crashy").events.find((e) => e.state === "Failed");
      assertIncludes(failed!.message, "exited: code 3");
    });
    await t.step("stop during the backoff wait ends Finished", async () => {
      await sup.stop("crashy");
      assertEquals(sup.get("crashy").state, "Finished");
    });
  } finally {
    await sup.stopAll();
  }
});

Deno.test("ServiceRunner resets the backoff after a healthy run", async (t) => {
  const attempts = async (resetAfterMs: number): Promise<string[]> => {
    const sup = new Supervisor([
      sh("flappy", "sleep 0.3; exit 1", {
        backoff: { initialMs: 20, maxMs: 1000, jitter: 0, resetAfterMs },
        health: () => Promise.resolve(),
        healthSettings: FAST_HEALTH,
      }),
    ], { runner: new GroupProcessRunner() });
    try {
      sup.startAll();
      await waitUntil(
        () =>
          sup.get("flappy").events.filter((e) =>
            e.message.startsWith("Restarting")
          )
            .length >= 3,
        { timeoutMs: 20000 },
      );
      return sup.get("flappy").events.filter((e) =>
        e.message.startsWith("Restarting")
      ).map((e) => e.message.replace(/.*\(attempt (\d+)\)/, "$1"));
    } finally {
      await sup.stopAll();
    }
  };
  await t.step("healthy longer than resetAfter: always attempt 1", async () => {
    assertEquals((await attempts(100)).slice(0, 3), ["1", "1", "1"]);
  });
  await t.step("shorter than resetAfter: attempts grow", async () => {
    assertEquals((await attempts(60000)).slice(0, 3), ["1", "2", "3"]);
  });
});

Deno.test("ServiceRunner reports health flips once each", async () => {
  let ok = true;
  const sup = new Supervisor([
    sh("h", "exec sleep 30", {
      health: () => ok ? Promise.resolve() : Promise.reject(new Error("boom")),
      healthSettings: FAST_HEALTH,
    }),
  ], { runner: new GroupProcessRunner() });
  try {
    sup.startAll();
    await waitUntil(() => sup.isUp("h"));
    ok = false;
    await waitUntil(() => !sup.get("h").health.healthy);
    assertEquals(sup.get("h").health.lastMessage, "boom");
    assert(!sup.isUp("h"));
    ok = true;
    await waitUntil(() => sup.isUp("h"));
    const health = sup.get("h").events.filter((e) =>
      e.message.startsWith("Health")
    )
      .map((e) => e.message);
    assertEquals(health, [
      "Health check successful",
      "Health check failed: boom",
      "Health check successful",
    ]);
  } finally {
    await sup.stopAll();
  }
});

Deno.test("Supervisor refuses unknown dependencies and cycles", () => {
  const noop = () => ({ command: "/bin/true", args: [], env: ENV });
  assertIncludes(
    String(
      assertThrows(
        () =>
          new Supervisor([{ id: "a", dependsOn: ["x"], process: noop }], {
            runner: new GroupProcessRunner(),
          }),
        Error,
        'depends on unknown service "x"',
      ),
    ),
    'unknown service "x"',
  );
  assertIncludes(
    String(assertThrows(() =>
      topologicalOrder([
        { id: "a", dependsOn: ["b"], process: noop },
        { id: "b", dependsOn: ["a"], process: noop },
      ])
    )),
    "dependency cycle",
  );
});

Deno.test("ServiceRunner keeps its own events while a dependency restarts", async () => {
  const sup: Supervisor = new Supervisor([
    sh("dep", "exec sleep 30"),
    sh("h", "exec sleep 30", {
      health: () =>
        sup.isUp("dep")
          ? Promise.resolve()
          : Promise.reject(new Error("dep is down")),
      healthSettings: FAST_HEALTH,
    }),
  ], { runner: new GroupProcessRunner() });
  try {
    sup.startAll();
    await waitUntil(() => sup.isUp("h"));
    for (let i = 0; i < 40; i++) {
      await sup.stop("dep");
      await waitUntil(() => !sup.get("h").health.healthy);
      sup.start("dep");
      await waitUntil(() => sup.get("h").health.healthy);
    }
    const events = sup.get("h").events;
    assert(events.length <= 64);
    assertEquals(events[0].message, "Starting service");
    assert(events.some((e) => e.message.startsWith("Started process")));
    const failed = events.filter((e) =>
      e.message === "Health check failed: dep is down"
    );
    assertEquals(failed.length, 1);
    assertEquals(failed[0].count, 40);
  } finally {
    await sup.stopAll();
  }
});
