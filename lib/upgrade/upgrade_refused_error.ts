/** Why a bundle was refused. */
export type RefusalReason =
  | "size"
  | "format"
  | "unsigned"
  | "signature"
  | "manifest"
  | "architecture"
  | "downgrade";

/** A bundle refused before anything was written; `reason` says which check. */
export class UpgradeRefusedError extends Error {
  /** The check that failed. */
  readonly reason: RefusalReason;
  /** Makes the error; the message is prefixed with "Upgrade refused". */
  constructor(reason: RefusalReason, message: string, options?: ErrorOptions) {
    super(`Upgrade refused (${reason}): ${message}`, options);
    this.name = "UpgradeRefusedError";
    this.reason = reason;
  }
}
