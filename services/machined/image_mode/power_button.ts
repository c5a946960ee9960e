/**
 * The ACPI power button (QEMU's `system_powerdown`, a host's power key):
 * the kernel's button driver reports it as an input device named "Power
 * Button"; a press asks machined for a clean shutdown.
 * @module
 */

/** struct input_event on 64-bit: timeval (16), type u16, code u16, value s32. */
const EVENT_BYTES = 24;
const EV_KEY = 1;
const KEY_POWER = 116;

/** Whether one input_event record is a power-key press. */
export function isPowerPress(event: Uint8Array): boolean {
  if (event.length < EVENT_BYTES) return false;
  const v = new DataView(event.buffer, event.byteOffset, EVENT_BYTES);
  return v.getUint16(16, true) === EV_KEY &&
    v.getUint16(18, true) === KEY_POWER && v.getInt32(20, true) === 1;
}

/** The /dev/input/eventN devices named "Power Button" in sysfs. */
export function powerButtons(sysRoot = "/sys"): string[] {
  const out: string[] = [];
  let names: string[] = [];
  try {
    names = [...Deno.readDirSync(`${sysRoot}/class/input`)].map((e) => e.name)
      .filter((n) => /^event\d+$/.test(n));
  } catch {
    return out;
  }
  for (const n of names.sort()) {
    try {
      const name = Deno.readTextFileSync(
        `${sysRoot}/class/input/${n}/device/name`,
      ).trim();
      if (name === "Power Button") out.push(`/dev/input/${n}`);
    } catch {
      // gone or nameless
    }
  }
  return out;
}

/**
 * Calls `onPress` for each power-button press until `signal` aborts. A
 * blocked read stays on Deno's blocking pool: fine for PID 1, which never
 * exits.
 */
export async function watchPowerButton(
  device: string,
  onPress: () => void,
  signal: AbortSignal,
): Promise<void> {
  const f = await Deno.open(device, { read: true });
  const stop = () => {
    try {
      f.close();
    } catch {
      // closed already
    }
  };
  signal.addEventListener("abort", stop, { once: true });
  try {
    const buf = new Uint8Array(EVENT_BYTES * 16);
    while (!signal.aborted) {
      const n = await f.read(buf);
      if (n === null) return;
      for (let at = 0; at + EVENT_BYTES <= n; at += EVENT_BYTES) {
        if (isPowerPress(buf.subarray(at, at + EVENT_BYTES))) onPress();
      }
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  } finally {
    signal.removeEventListener("abort", stop);
    stop();
  }
}
