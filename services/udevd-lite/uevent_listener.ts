/**
 * The kernel uevent socket (NETLINK_KOBJECT_UEVENT, group 1): every datagram
 * from the kernel parsed and handed on; others and malformed ones dropped.
 * @module
 */
import { ENOBUFS, type Libc, SyscallError } from "../../lib/ffi/mod.ts";
import { DatagramTooLargeError, NetlinkSocket } from "../../lib/netlink/mod.ts";
import { parseUevent, type Uevent, UEVENT_MAX_BYTES } from "./uevent.ts";

/** NETLINK_KOBJECT_UEVENT. */
const NETLINK_KOBJECT_UEVENT = 15;
/** The kernel's uevent multicast group. */
const KERNEL_GROUP = 1;

/** What the listener reports besides events. */
export interface UeventListenerHooks {
  /** A parsed kernel event. */
  onEvent(event: Uevent): void;
  /** A dropped datagram or lost events, with why. */
  onDrop?(reason: string): void;
  /** Called once the socket is bound (events from now on are seen). */
  onReady?(): void;
}

/**
 * Listens for kernel uevents until `signal` aborts. Datagrams not from the
 * kernel (sender port != 0) and malformed ones are dropped with a reason; a
 * receive-queue overflow (ENOBUFS) is reported and listening goes on.
 */
export async function listenUevents(
  libc: Libc,
  hooks: UeventListenerHooks,
  options: { signal: AbortSignal },
): Promise<void> {
  using sock = NetlinkSocket.open(libc, NETLINK_KOBJECT_UEVENT, {
    groups: KERNEL_GROUP,
    receiveBufferBytes: 4 * 1024 * 1024,
    maxDatagramBytes: UEVENT_MAX_BYTES * 2,
  });
  hooks.onReady?.();
  while (!options.signal.aborted) {
    let got: { data: Uint8Array; senderPort: number } | undefined;
    try {
      got = await sock.receiveFrom({ timeoutMs: 1000, signal: options.signal });
    } catch (err) {
      if (err instanceof SyscallError && err.errno === ENOBUFS) {
        hooks.onDrop?.("receive queue overflowed: uevents were lost");
        continue;
      }
      if (err instanceof DatagramTooLargeError) {
        hooks.onDrop?.(err.message);
        continue;
      }
      throw err;
    }
    if (!got) continue;
    if (got.senderPort !== 0) {
      hooks.onDrop?.(`datagram from port ${got.senderPort}, not the kernel`);
      continue;
    }
    let event: Uevent;
    try {
      event = parseUevent(got.data);
    } catch (err) {
      hooks.onDrop?.((err as Error).message);
      continue;
    }
    hooks.onEvent(event);
  }
}
