/**
 * Finding host programs (nats-server, setpriv, mksquashfs, qemu...).
 * @module
 */
export { findExecutable } from "./find_executable.ts";
