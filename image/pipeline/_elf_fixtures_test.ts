// Shared fixtures for image/pipeline tests (not a test file itself: no Deno.test).

/**
 * A minimal ELF64 LE file with the given sections (PROGBITS unless `types`
 * names another sh_type).
 */
export function syntheticElf(
  sections: Record<string, Uint8Array>,
  types: Record<string, number> = {},
): Uint8Array {
  const enc = new TextEncoder();
  const names = Object.keys(sections);
  const shstr: number[] = [0];
  const nameOffsets: number[] = [];
  for (const n of [...names, ".shstrtab"]) {
    nameOffsets.push(shstr.length);
    shstr.push(...enc.encode(n), 0);
  }
  const blobs = [...names.map((n) => sections[n]), new Uint8Array(shstr)];
  let off = 64;
  const offsets = blobs.map((b) => {
    const o = off;
    off += b.length;
    return o;
  });
  const shoff = (off + 7) & ~7;
  const shnum = blobs.length + 1;
  const out = new Uint8Array(shoff + shnum * 64);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  const v = new DataView(out.buffer);
  v.setBigUint64(0x28, BigInt(shoff), true);
  v.setUint16(0x3a, 64, true);
  v.setUint16(0x3c, shnum, true);
  v.setUint16(0x3e, shnum - 1, true);
  blobs.forEach((b, i) => {
    out.set(b, offsets[i]);
    const o = shoff + (i + 1) * 64;
    v.setUint32(o, nameOffsets[i], true);
    v.setUint32(
      o + 4,
      i === blobs.length - 1 ? 3 : (types[names[i]] ?? 1),
      true,
    );
    v.setBigUint64(o + 24, BigInt(offsets[i]), true);
    v.setBigUint64(o + 32, BigInt(b.length), true);
  });
  return out;
}
