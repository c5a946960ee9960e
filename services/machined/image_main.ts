/**
 * machined as the image's PID 1: the entry of its bundle (machined.js). The
 * initramfs init imports it into its own process after switching root, so
 * there is no command line; `services/machined/main.ts --mode image` runs
 * the same. Anywhere but PID 1 it refuses at once (exit 2).
 * @module
 */
import { runImageMode } from "./image_mode/pid1.ts";

await runImageMode();
