import {
  type DaemonName,
  DAEMONS,
  healthNoticeSubject,
  healthSubject,
  inboxPrefix,
  NETWORK_CONFIG_SUBJECT,
} from "../constants/mod.ts";

/** Publish and subscribe allow-lists of one NATS user. */
export interface BusPermissions {
  /** Subjects the user may publish to. */
  publish: string[];
  /** Subjects the user may subscribe to. */
  subscribe: string[];
}

/** Which daemons call which: a caller may request and stream from a callee. */
const CALLS: Readonly<Record<DaemonName, readonly DaemonName[]>> = {
  machined: [],
  apid: ["machined", "networkd", "udevd"],
  trustd: [],
  networkd: [],
  udevd: [],
};

/** The daemons that call `daemon`'s subjects (machined health-checks everyone). */
export function callersOf(daemon: DaemonName): DaemonName[] {
  const callers = DAEMONS.filter((d) => CALLS[d].includes(daemon));
  if (daemon !== "machined") callers.push("machined");
  return [...new Set(callers)];
}

/**
 * The NATS permissions of one daemon: it subscribes to its own subjects and its
 * own inbox, publishes requests only to the daemons it calls, and replies only
 * into its callers' inboxes.
 */
export function busPermissions(daemon: DaemonName): BusPermissions {
  const publish: string[] = [];
  for (const callee of CALLS[daemon]) {
    publish.push(`${callee}.rpc.>`, `${callee}.stream.>`, `${callee}.ctl.>`);
  }
  if (daemon === "machined") {
    for (const d of DAEMONS) {
      if (d !== "machined") publish.push(healthSubject(d));
    }
    publish.push("machined.events.>");
    // A network section changed live goes to networkd to reconcile.
    publish.push(NETWORK_CONFIG_SUBJECT);
  }
  if (daemon === "udevd") publish.push("udevd.events.>");
  // Each daemon may announce only its own health, never another's.
  if (daemon !== "machined") publish.push(healthNoticeSubject(daemon));
  for (const caller of callersOf(daemon)) {
    publish.push(`${inboxPrefix(caller)}.>`);
  }
  return {
    publish,
    subscribe: [`${daemon}.>`, `${inboxPrefix(daemon)}.>`],
  };
}
