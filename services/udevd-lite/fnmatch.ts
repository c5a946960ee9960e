/**
 * fnmatch(3)-style glob matching without flags, as kmod matches modalias
 * patterns: `*`, `?`, `[...]` classes (ranges, `!`/`^` negation), `\` escapes.
 * @module
 */

/** Whether `text` matches the glob `pattern` (whole string). */
export function fnmatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  // Where to resume after the last `*`: pattern index after it, text index.
  let starP = -1;
  let starT = 0;
  // Bounded: each step advances t, or p, or the star's text position.
  const limit = (pattern.length + 1) * (text.length + 1) + 16;
  for (let steps = 0; steps < limit; steps++) {
    if (t === text.length) {
      while (p < pattern.length && pattern[p] === "*") p++;
      return p === pattern.length;
    }
    if (p < pattern.length) {
      const c = pattern[p];
      if (c === "*") {
        starP = ++p;
        starT = t;
        continue;
      }
      if (c === "?") {
        p++;
        t++;
        continue;
      }
      if (c === "[") {
        const m = matchClass(pattern, p, text[t]);
        if (m.end >= 0) {
          if (m.matched) {
            p = m.end;
            t++;
            continue;
          }
        } else if (text[t] === "[") {
          // An unterminated class is a literal "[".
          p++;
          t++;
          continue;
        }
      } else {
        let lit = c;
        let next = p + 1;
        if (c === "\\" && p + 1 < pattern.length) {
          lit = pattern[p + 1];
          next = p + 2;
        }
        if (lit === text[t]) {
          p = next;
          t++;
          continue;
        }
      }
    }
    if (starP < 0) return false;
    p = starP;
    t = ++starT;
  }
  return false;
}

/** Matches `ch` against the class at pattern[start] === "["; end is -1 if unterminated. */
function matchClass(
  pattern: string,
  start: number,
  ch: string,
): { matched: boolean; end: number } {
  let i = start + 1;
  let negate = false;
  if (pattern[i] === "!" || pattern[i] === "^") {
    negate = true;
    i++;
  }
  let matched = false;
  let first = true;
  while (i < pattern.length) {
    let c = pattern[i];
    if (c === "]" && !first) {
      return { matched: matched !== negate, end: i + 1 };
    }
    first = false;
    if (c === "\\" && i + 1 < pattern.length) c = pattern[++i];
    if (
      pattern[i + 1] === "-" && i + 2 < pattern.length && pattern[i + 2] !== "]"
    ) {
      let hi = pattern[i + 2];
      let skip = 3;
      if (hi === "\\" && i + 3 < pattern.length) {
        hi = pattern[i + 3];
        skip = 4;
      }
      if (c <= ch && ch <= hi) matched = true;
      i += skip;
      continue;
    }
    if (c === ch) matched = true;
    i++;
  }
  return { matched: false, end: -1 };
}
