import { ApiError } from "../../lib/api_error/mod.ts";
import { createLogger } from "../../lib/log/mod.ts";
import {
  assert,
  assertEquals,
  assertThrows,
  waitUntil,
} from "../../lib/testing/mod.ts";
import { SequenceRecorder } from "./boot_sequence.ts";
import { EventLog } from "./event_log.ts";
import { NodeControl } from "./node_control.ts";
import { ServiceHistory } from "./runner/history.ts";
import { GroupProcessRunner } from "./runner/process_runner.ts";
import type { ServiceSpec } from "./runner/service.ts";
import { Supervisor } from "./runner/supervisor.ts";

function sleeper(id: string, more: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    id,
    process: () => ({
      command: "/bin/sh",
      args: ["-c", "exec sleep 30"],
      env: { PATH: "/usr/bin:/bin" },
    }),
    graceMs: 2000,
    ...more,
  };
}

function node(rebootInPlace: boolean) {
  const stops: string[] = [];
  const supervisor = new Supervisor([
    sleeper("nats"),
    sleeper("apid", { dependsOn: ["nats"] }),
    sleeper("trustd", { condition: () => "Skipped: control plane only" }),
  ], {
    runner: new GroupProcessRunner(),
    onEvent: (id, e) => {
      if (e.state === "Finished") stops.push(id);
    },
  });
  const lines: string[] = [];
  const events = new EventLog();
  const history = new ServiceHistory();
  const log = createLogger("machined", {
    sink: { write: (l) => lines.push(l) },
  });
  const control = new NodeControl({
    supervisor,
    rebootInPlace,
    sequence: new SequenceRecorder(events, log, history),
    history,
    closeBus: () => {
      stops.push("bus");
      return Promise.resolve();
    },
  });
  return { supervisor, control, stops, lines };
}

const status = (fn: () => void) => assertThrows(fn, ApiError).status;

Deno.test("NodeControl checks what the API may do to a service", async (t) => {
  const { supervisor, control } = node(true);
  supervisor.startAll();
  try {
    await t.step("machined itself, unknown and skipped services", () => {
      assertEquals(
        status(() => control.checkService("machined", "restart")),
        "FailedPrecondition",
      );
      assertEquals(
        status(() => control.checkService("", "stop")),
        "InvalidArgument",
      );
      assertEquals(
        status(() => control.checkService("etcd", "start")),
        "NotFound",
      );
      assertEquals(
        status(() => control.checkService("trustd", "start")),
        "FailedPrecondition",
      );
      control.checkService("apid", "restart");
    });

    await t.step("ServiceList: machined first, then every service", () => {
      assertEquals(control.services().map((s) => s.id), [
        "machined",
        "nats",
        "apid",
        "trustd",
      ]);
      assertEquals(control.services()[0].pid, Deno.pid);
    });
  } finally {
    await supervisor.stopAll();
  }
});

Deno.test("NodeControl reboots in place once at a time, and shuts down in reverse", async (t) => {
  const { supervisor, control, stops } = node(true);
  supervisor.startAll();
  try {
    await waitUntil(() => supervisor.isUp("nats") && supervisor.isUp("apid"));
    const pid = supervisor.get("apid").pid;

    await t.step(
      "a second reboot is refused while the first runs",
      async () => {
        const reboot = control.beginReboot("actor-1");
        assertEquals(
          status(() => control.beginReboot("actor-2")),
          "FailedPrecondition",
        );
        await reboot();
        assert(supervisor.get("apid").pid !== pid);
        // Done: the next one may begin.
        control.beginReboot("actor-3");
      },
    );

    await t.step("shutdown: apid, then the bus, then nats", async () => {
      stops.length = 0;
      await control.beginShutdown("actor-4")();
      assert(control.shuttingDown());
      await control.finished();
      assertEquals(stops, ["apid", "bus", "nats", "bus"]);
      assertEquals(
        status(() => control.checkService("apid", "start")),
        "Unavailable",
      );
      assertEquals(status(() => control.beginReboot("actor-5")), "Unavailable");
      assertEquals(control.stopReason, "shutdown");
    });
  } finally {
    await supervisor.stopAll();
  }
});

Deno.test("NodeControl: where the platform reboots the machine, a reboot is a shutdown", async () => {
  const { supervisor, control } = node(false);
  supervisor.startAll();
  try {
    await control.beginReboot("actor")();
    await control.finished();
    assertEquals(control.stopReason, "reboot");
    assertEquals(supervisor.get("nats").state, "Finished");
  } finally {
    await supervisor.stopAll();
  }
});
