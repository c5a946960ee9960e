/**
 * Seeded fuzzing helpers: a small deterministic PRNG, the seed a run uses
 * (BRONZE_FUZZ_SEED reproduces one), and protobuf-shaped payloads (random,
 * well-formed, truncated, corrupted, and hand-picked edge cases).
 * @module
 */

/** The environment variable that fixes a fuzz run's seed. */
export const FUZZ_SEED_ENV = "BRONZE_FUZZ_SEED";

/**
 * The seed of this run: BRONZE_FUZZ_SEED when set (a decimal uint32), else
 * a fresh one. Throws on a seed that is not a decimal uint32.
 */
export function fuzzSeed(): number {
  const text = Deno.env.get(FUZZ_SEED_ENV);
  if (text === undefined || text === "") {
    return crypto.getRandomValues(new Uint32Array(1))[0];
  }
  if (!/^\d{1,10}$/.test(text) || Number(text) > 0xffff_ffff) {
    throw new Error(
      `Cannot use ${FUZZ_SEED_ENV}=${
        JSON.stringify(text)
      }: want a decimal integer from 0 to 4294967295`,
    );
  }
  return Number(text);
}

/** A deterministic PRNG (mulberry32): the same seed, the same sequence. */
export class Rng {
  #state: number;

  /** Makes a generator from a uint32 seed. */
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }

  /** A uint32. */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() / 0x1_0000_0000 < p;
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }

  /** A string of `n` characters drawn from `alphabet`. */
  string(n: number, alphabet: string): string {
    let s = "";
    for (let i = 0; i < n; i++) s += alphabet[this.int(alphabet.length)];
    return s;
  }

  /** A new generator seeded from this one (for one case of a run). */
  fork(): Rng {
    return new Rng(this.next());
  }
}

/** How a fuzz payload was made. */
export type PayloadKind =
  | "random"
  | "wellformed"
  | "truncated"
  | "corrupted"
  | "edge";

/** One payload and how it was made. */
export interface FuzzPayload {
  /** How it was made. */
  kind: PayloadKind;
  /** The bytes. */
  bytes: Uint8Array;
}

function varint(value: bigint): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, value);
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

const WORDS = [
  "",
  "apid",
  "machined",
  "networkd",
  "udevd",
  "trustd",
  "nats",
  "os:admin",
  "os:reader",
  "../../etc/passwd",
  "/proc/self/environ",
  "\u0000",
  "\ufeff",
];

/** A random well-formed protobuf message: fields 1..8 of every wire type. */
export function wellFormedMessage(rng: Rng, depth = 0): Uint8Array {
  const out: number[] = [];
  const fields = rng.int(5);
  for (let i = 0; i < fields; i++) {
    const field = 1 + rng.int(8);
    const wire = rng.pick([0, 0, 1, 2, 2, 2, 5]);
    out.push(...varint(BigInt((field << 3) | wire)));
    switch (wire) {
      case 0: {
        const v = rng.pick([
          0n,
          1n,
          BigInt(rng.int(1000)),
          -1n,
          0x7fff_ffffn,
          -0x8000_0000n,
          (1n << 63n) - 1n,
          1n << 53n,
          BigInt(rng.next()) << 20n,
        ]);
        out.push(...varint(v));
        break;
      }
      case 1:
        out.push(...rng.bytes(8));
        break;
      case 5:
        out.push(...rng.bytes(4));
        break;
      case 2: {
        let body: Uint8Array;
        if (depth < 3 && rng.chance(0.3)) {
          body = wellFormedMessage(rng, depth + 1);
        } else if (rng.chance(0.5)) {
          body = new TextEncoder().encode(
            rng.chance(0.5)
              ? rng.pick(WORDS)
              : rng.string(rng.pick([1, 8, 64, 300]), "abcxyz-./:%\u00e9 "),
          );
        } else {
          body = rng.bytes(rng.int(40));
        }
        out.push(...varint(BigInt(body.length)), ...body);
        break;
      }
    }
  }
  return new Uint8Array(out);
}

/** Hand-picked malformed encodings every decoder must refuse cleanly. */
export function edgePayloads(): Uint8Array[] {
  const fill = (n: number, b: number) => new Array(n).fill(b);
  return [
    // a varint of 11 continuation bytes
    new Uint8Array([0x08, ...fill(11, 0xff)]),
    // wire types 6 and 7 do not exist
    new Uint8Array([0x0e, 0x01]),
    new Uint8Array([0x0f, 0x01]),
    // field number 0
    new Uint8Array([0x00, 0x01]),
    // a length far past the end
    new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x41]),
    // a length of 2^63
    new Uint8Array([0x0a, ...fill(9, 0xff), 0x01]),
    // an end-group with no start
    new Uint8Array([0x0c]),
    // 200 nested start-groups, never closed
    new Uint8Array(fill(200, 0x0b)),
    // a fixed64 cut short
    new Uint8Array([0x09, 0x01, 0x02]),
    // a tag varint cut short
    new Uint8Array([0x80]),
  ];
}

/** `count` payloads of every kind, the edge cases first. */
export function protobufPayloads(rng: Rng, count: number): FuzzPayload[] {
  const out: FuzzPayload[] = edgePayloads().map((bytes) => ({
    kind: "edge",
    bytes,
  }));
  while (out.length < count) {
    const r = rng.int(4);
    if (r === 0) {
      out.push({ kind: "random", bytes: rng.bytes(1 + rng.int(48)) });
      continue;
    }
    const good = wellFormedMessage(rng);
    if (r === 1 || good.length < 2) {
      out.push({ kind: "wellformed", bytes: good });
    } else if (r === 2) {
      out.push({
        kind: "truncated",
        bytes: good.slice(0, 1 + rng.int(good.length - 1)),
      });
    } else {
      const bad = good.slice();
      bad[rng.int(bad.length)] = rng.next() & 0xff;
      out.push({ kind: "corrupted", bytes: bad });
    }
  }
  return out.slice(0, count);
}

/** Hex of a payload, for a report line that reproduces a case by hand. */
export function hex(bytes: Uint8Array, max = 64): string {
  const s = Array.from(
    bytes.slice(0, max),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  return bytes.length > max ? `${s}...(${bytes.length} bytes)` : s;
}
