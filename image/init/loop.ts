/**
 * Attaching a file to a free loop device (LOOP_CTL_GET_FREE then
 * LOOP_CONFIGURE), read-only, so a squashfs in the initramfs can be mounted.
 * @module
 */

import { O_CLOEXEC, O_RDONLY, O_RDWR, type Sys } from "../../lib/ffi/mod.ts";

const LOOP_CTL_GET_FREE = 0x4c82;
const LOOP_CONFIGURE = 0x4c0a;
const LO_FLAGS_READ_ONLY = 1;
/** sizeof(struct loop_config): fd, block_size, loop_info64 (232), 8 x u64. */
const LOOP_CONFIG_SIZE = 304;

/** Encodes struct loop_config for a backing fd (exported for tests). */
export function loopConfig(
  fd: number,
  fileName: string,
): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(LOOP_CONFIG_SIZE);
  const v = new DataView(b.buffer);
  v.setUint32(0, fd, true);
  v.setUint32(4, 0, true); // block size: the kernel's default
  // loop_info64 starts at 8; lo_flags at +52, lo_file_name[64] at +56.
  // No LO_FLAGS_AUTOCLEAR: it would detach the device when this fd closes,
  // before the root is mounted; the root's loop device lives forever.
  v.setUint32(8 + 52, LO_FLAGS_READ_ONLY, true);
  const name = new TextEncoder().encode(fileName).subarray(0, 63);
  b.set(name, 8 + 56);
  return b;
}

/** Attaches `file` read-only to a free loop device; returns its path. */
export function attachLoop(sys: Sys, file: string): string {
  const ctl = sys.open("/dev/loop-control", O_RDWR | O_CLOEXEC);
  let n: number;
  try {
    n = sys.ioctlInt(ctl, LOOP_CTL_GET_FREE);
  } finally {
    sys.close(ctl);
  }
  const dev = `/dev/loop${n}`;
  const backing = sys.open(file, O_RDONLY | O_CLOEXEC);
  try {
    const loop = sys.open(dev, O_RDONLY | O_CLOEXEC);
    try {
      sys.ioctlPtr(loop, LOOP_CONFIGURE, loopConfig(backing, file));
    } finally {
      sys.close(loop);
    }
  } finally {
    // The loop device holds its own reference to the file.
    sys.close(backing);
  }
  return dev;
}
