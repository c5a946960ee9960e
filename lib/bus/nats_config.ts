import { BUS_MAX_PAYLOAD_BYTES, type DaemonName } from "../constants/mod.ts";
import { busPermissions } from "./permissions.ts";

/** Options for {@linkcode natsServerConfig}. */
export interface NatsConfigOptions {
  /** The only address nats-server listens on. */
  host: string;
  /** The port it listens on. */
  port: number;
  /** One password per daemon user, made fresh at each boot. */
  passwords: Readonly<Partial<Record<DaemonName, string>>>;
  /** Extra users for tests and benchmarks, with full permissions given. */
  extraUsers?: ReadonlyArray<
    { user: string; pass: string; publish: string[]; subscribe: string[] }
  >;
}

/** Renders a nats-server config: one user per daemon, least permissions each. */
export function natsServerConfig(options: NatsConfigOptions): string {
  const users: string[] = [];
  for (const [user, pass] of Object.entries(options.passwords)) {
    if (!pass) continue;
    const p = busPermissions(user as DaemonName);
    users.push(userBlock(user, pass, p.publish, p.subscribe));
  }
  for (const u of options.extraUsers ?? []) {
    users.push(userBlock(u.user, u.pass, u.publish, u.subscribe));
  }
  return [
    `listen: ${quote(`${options.host}:${options.port}`)}`,
    `server_name: bronze`,
    `max_payload: ${BUS_MAX_PAYLOAD_BYTES}`,
    `max_connections: 256`,
    `write_deadline: "5s"`,
    `authorization {`,
    `  users = [`,
    users.join(",\n"),
    `  ]`,
    `}`,
    ``,
  ].join("\n");
}

function userBlock(
  user: string,
  pass: string,
  publish: string[],
  subscribe: string[],
): string {
  if (!/^[A-Za-z0-9_-]+$/.test(user)) {
    throw new Error(`Cannot render NATS user "${user}": invalid name`);
  }
  if (!/^[A-Za-z0-9_-]+$/.test(pass)) {
    throw new Error(
      `Cannot render NATS user "${user}": password has unsafe characters`,
    );
  }
  const list = (xs: string[]) => `[${xs.map(quote).join(", ")}]`;
  return `    { user: ${quote(user)}, password: ${
    quote(pass)
  }, permissions: { ` +
    `publish: { allow: ${list(publish)} }, subscribe: { allow: ${
      list(subscribe)
    } } } }`;
}

function quote(s: string): string {
  if (/["\\\n]/.test(s)) {
    throw new Error(`Cannot quote "${s}" for nats-server config`);
  }
  return `"${s}"`;
}

/** Makes a random password safe for nats-server's config (32 hex chars). */
export function randomPassword(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}
