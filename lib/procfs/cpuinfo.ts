/**
 * /proc/cpuinfo (x86 field names), one record per logical CPU, as Talos
 * reports it; fields a CPU does not list stay empty or zero.
 * @module
 */

/** One logical CPU. */
export interface CpuInfoRecord {
  /** processor. */
  processor: number;
  /** vendor_id. */
  vendorId: string;
  /** cpu family. */
  cpuFamily: string;
  /** model. */
  model: string;
  /** model name. */
  modelName: string;
  /** stepping. */
  stepping: string;
  /** microcode. */
  microcode: string;
  /** cpu MHz. */
  cpuMhz: number;
  /** cache size. */
  cacheSize: string;
  /** physical id. */
  physicalId: string;
  /** siblings. */
  siblings: number;
  /** core id. */
  coreId: string;
  /** cpu cores. */
  cpuCores: number;
  /** apicid. */
  apicId: string;
  /** initial apicid. */
  initialApicId: string;
  /** fpu. */
  fpu: string;
  /** fpu_exception. */
  fpuException: string;
  /** cpuid level. */
  cpuIdLevel: number;
  /** wp. */
  wp: string;
  /** flags. */
  flags: string[];
  /** bugs. */
  bugs: string[];
  /** bogomips. */
  bogoMips: number;
  /** clflush size. */
  clFlushSize: number;
  /** cache_alignment. */
  cacheAlignment: number;
  /** address sizes. */
  addressSizes: string;
  /** power management. */
  powerManagement: string;
}

type StringKey = {
  [K in keyof CpuInfoRecord]: CpuInfoRecord[K] extends string ? K : never;
}[keyof CpuInfoRecord];
type NumberKey = {
  [K in keyof CpuInfoRecord]: CpuInfoRecord[K] extends number ? K : never;
}[keyof CpuInfoRecord];

const STRINGS: Readonly<Record<string, StringKey>> = {
  "vendor_id": "vendorId",
  "cpu family": "cpuFamily",
  "model": "model",
  "model name": "modelName",
  "stepping": "stepping",
  "microcode": "microcode",
  "cache size": "cacheSize",
  "physical id": "physicalId",
  "core id": "coreId",
  "apicid": "apicId",
  "initial apicid": "initialApicId",
  "fpu": "fpu",
  "fpu_exception": "fpuException",
  "wp": "wp",
  "address sizes": "addressSizes",
  "power management": "powerManagement",
};
const NUMBERS: Readonly<Record<string, NumberKey>> = {
  "processor": "processor",
  "cpu MHz": "cpuMhz",
  "siblings": "siblings",
  "cpu cores": "cpuCores",
  "cpuid level": "cpuIdLevel",
  "bogomips": "bogoMips",
  "clflush size": "clFlushSize",
  "cache_alignment": "cacheAlignment",
};

function empty(): CpuInfoRecord {
  return {
    processor: 0,
    vendorId: "",
    cpuFamily: "",
    model: "",
    modelName: "",
    stepping: "",
    microcode: "",
    cpuMhz: 0,
    cacheSize: "",
    physicalId: "",
    siblings: 0,
    coreId: "",
    cpuCores: 0,
    apicId: "",
    initialApicId: "",
    fpu: "",
    fpuException: "",
    cpuIdLevel: 0,
    wp: "",
    flags: [],
    bugs: [],
    bogoMips: 0,
    clFlushSize: 0,
    cacheAlignment: 0,
    addressSizes: "",
    powerManagement: "",
  };
}

/** Parses the text of /proc/cpuinfo. */
export function parseCpuInfo(text: string): CpuInfoRecord[] {
  const out: CpuInfoRecord[] = [];
  let cur: CpuInfoRecord | undefined;
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (key === "processor") {
      cur = empty();
      out.push(cur);
    }
    if (!cur) continue;
    if (key in NUMBERS) {
      // "cache_alignment : 64", "clflush size : 64": a number first.
      const n = parseFloat(value);
      cur[NUMBERS[key]] = Number.isFinite(n) ? n : 0;
    } else if (key in STRINGS) cur[STRINGS[key]] = value;
    else if (key === "flags") cur.flags = value ? value.split(/\s+/) : [];
    else if (key === "bugs") cur.bugs = value ? value.split(/\s+/) : [];
  }
  if (out.length === 0) {
    throw new Error(
      `Cannot parse /proc/cpuinfo: no "processor" line in ${
        JSON.stringify(text.slice(0, 60))
      }`,
    );
  }
  return out;
}

/** Reads and parses /proc/cpuinfo. */
export async function readCpuInfo(
  path = "/proc/cpuinfo",
): Promise<CpuInfoRecord[]> {
  return parseCpuInfo(await Deno.readTextFile(path));
}
