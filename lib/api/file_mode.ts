/**
 * FileInfo.mode as Talos sends it: Go's os.FileMode (type bits at the top,
 * then setuid/setgid/sticky, permission bits low), and its String() form
 * ("drwxr-xr-x", "Lrwxrwxrwx") that talosctl prints.
 * @module
 */

const S_IFMT = 0o170000;
const S_IFSOCK = 0o140000;
const S_IFLNK = 0o120000;
const S_IFBLK = 0o060000;
const S_IFDIR = 0o040000;
const S_IFCHR = 0o020000;
const S_IFIFO = 0o010000;

const MODE_DIR = 1 << 31;
const MODE_SYMLINK = 1 << 27;
const MODE_DEVICE = 1 << 26;
const MODE_NAMED_PIPE = 1 << 25;
const MODE_SOCKET = 1 << 24;
const MODE_SETUID = 1 << 23;
const MODE_SETGID = 1 << 22;
const MODE_CHAR_DEVICE = 1 << 21;
const MODE_STICKY = 1 << 20;

/** Go's os.FileMode of a Unix st_mode, as an unsigned 32-bit number. */
export function goFileMode(stMode: number): number {
  let m = stMode & 0o777;
  switch (stMode & S_IFMT) {
    case S_IFDIR:
      m |= MODE_DIR;
      break;
    case S_IFLNK:
      m |= MODE_SYMLINK;
      break;
    case S_IFBLK:
      m |= MODE_DEVICE;
      break;
    case S_IFCHR:
      m |= MODE_DEVICE | MODE_CHAR_DEVICE;
      break;
    case S_IFIFO:
      m |= MODE_NAMED_PIPE;
      break;
    case S_IFSOCK:
      m |= MODE_SOCKET;
      break;
  }
  if (stMode & 0o4000) m |= MODE_SETUID;
  if (stMode & 0o2000) m |= MODE_SETGID;
  if (stMode & 0o1000) m |= MODE_STICKY;
  return m >>> 0;
}

// Go's os.FileMode.String() letters, from bit 31 down to bit 19.
const TYPE_LETTERS = "dalTLDpSugct?";

/** Go's os.FileMode.String(): type letters (or "-"), then rwxrwxrwx. */
export function goFileModeString(mode: number): string {
  let out = "";
  for (let i = 0; i < TYPE_LETTERS.length; i++) {
    if ((mode >>> (31 - i)) & 1) out += TYPE_LETTERS[i];
  }
  if (out === "") out = "-";
  const rwx = "rwxrwxrwx";
  for (let i = 0; i < 9; i++) {
    out += (mode >>> (8 - i)) & 1 ? rwx[i] : "-";
  }
  return out;
}
