/** Directories searched after $PATH: where Debian puts system programs. */
const SEARCH_EXTRA = ["/usr/sbin", "/sbin", "/usr/bin", "/bin"];

/**
 * The absolute path of the program `name` (looked up on $PATH, then in
 * /usr/sbin, /sbin, /usr/bin, /bin), or undefined when it is not installed.
 * A name with a slash is checked as given.
 */
export function findExecutable(name: string): string | undefined {
  if (name.includes("/")) return isExecutable(name) ? name : undefined;
  let path = "";
  try {
    path = Deno.env.get("PATH") ?? "";
  } catch {
    // no env permission: the fixed directories still apply
  }
  for (const dir of [...path.split(":"), ...SEARCH_EXTRA]) {
    if (dir === "") continue;
    if (isExecutable(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  return undefined;
}

function isExecutable(path: string): boolean {
  try {
    const st = Deno.statSync(path);
    return st.isFile && ((st.mode ?? 0) & 0o111) !== 0;
  } catch {
    return false;
  }
}
