/** A config patch that cannot be read or applied. */
export class PatchError extends Error {
  /** Where in the document or the patch, jq-like (".machine.network") or a pointer. */
  readonly path: string;

  /** Makes the error; the message ends with the path when there is one. */
  constructor(message: string, path: string, options?: ErrorOptions) {
    super(path === "" ? message : `${message} (${path})`, options);
    this.name = "PatchError";
    this.path = path;
  }
}
