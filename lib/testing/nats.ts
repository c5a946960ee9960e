import { findExecutable } from "../exec/mod.ts";
import { type DaemonName, DAEMONS } from "../constants/mod.ts";
import {
  type BusCredentials,
  natsServerConfig,
  randomPassword,
} from "../bus/mod.ts";
import { freePort } from "./free_port.ts";
import { waitUntil } from "./poll.ts";

/** A real nats-server started for a test, with one user per daemon. */
export interface TestNats extends AsyncDisposable {
  /** nats://host:port */
  url: string;
  /** Credentials of a daemon's user. */
  creds(daemon: DaemonName): BusCredentials;
  /** The server process id. */
  pid: number;
  /** Kills the server with SIGKILL (for restart tests). */
  kill(): Promise<void>;
  /** Starts it again on the same port and config. */
  restart(): Promise<void>;
}

/** Finds nats-server on PATH or in /usr/sbin. */
export function natsServerPath(): string {
  const path = findExecutable("nats-server");
  if (!path) {
    throw new Error(
      "nats-server not found: install Debian's nats-server package",
    );
  }
  return path;
}

/** Starts nats-server on loopback with the daemon users of a node. */
export async function startNats(host = "127.0.0.1"): Promise<TestNats> {
  const port = freePort(host);
  const passwords: Partial<Record<DaemonName, string>> = {};
  for (const d of DAEMONS) passwords[d] = randomPassword();
  const dir = await Deno.makeTempDir({ prefix: "bronze-nats-" });
  const conf = `${dir}/nats.conf`;
  await Deno.writeTextFile(conf, natsServerConfig({ host, port, passwords }), {
    mode: 0o600,
  });
  let child: Deno.ChildProcess | undefined;
  const start = async () => {
    // PR_SET_PDEATHSIG: a test process that dies never leaves nats-server behind.
    const [cmd, ...pre] = findExecutable("setpriv")
      ? ["setpriv", "--pdeathsig", "SIGKILL", "--", natsServerPath()]
      : [natsServerPath()];
    child = new Deno.Command(cmd, {
      args: [...pre, "-c", conf],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    await waitUntil(async () => {
      try {
        const c = await Deno.connect({ hostname: host, port });
        c.close();
        return true;
      } catch {
        return false;
      }
    }, { timeoutMs: 10000, what: `nats-server on ${host}:${port}` });
  };
  const kill = async () => {
    if (!child) return;
    try {
      child.kill("SIGKILL");
    } catch {
      // gone
    }
    await child.status;
    child = undefined;
  };
  await start();
  return {
    url: `nats://${host}:${port}`,
    get pid() {
      return child?.pid ?? 0;
    },
    creds: (daemon) => ({
      url: `nats://${host}:${port}`,
      user: daemon,
      pass: passwords[daemon]!,
    }),
    kill,
    restart: start,
    async [Symbol.asyncDispose]() {
      await kill();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
