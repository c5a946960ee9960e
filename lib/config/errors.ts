/** One problem found in a machine config. */
export interface ConfigProblem {
  /** Where, as a jq-like path (".machine.network.interfaces[0].addresses[1]"), or "" for the whole document. */
  path: string;
  /** What is wrong, without the path. */
  message: string;
}

/** Formats a problem the Talos way: "message (.path)". */
export function formatProblem(problem: ConfigProblem): string {
  return problem.path === ""
    ? problem.message
    : `${problem.message} (${problem.path})`;
}

/** A machine config failed to parse or validate; `problems` lists every reason. */
export class ConfigValidationError extends Error {
  /** Every problem found, in document order. */
  readonly problems: ConfigProblem[];
  /** The file or label the config came from, if known. */
  readonly source?: string;

  /**
   * Makes the error; the message lists every problem (hashicorp multierror
   * layout). `options.what` names the document ("machine config" by default).
   */
  constructor(
    problems: ConfigProblem[],
    source?: string,
    options?: ErrorOptions & { what?: string },
  ) {
    const n = problems.length;
    const head = `${n} error${n === 1 ? "" : "s"} occurred:`;
    const lines = problems.map((p) => `\t* ${formatProblem(p)}`);
    const prefix = source === undefined
      ? ""
      : `invalid ${options?.what ?? "machine config"} ${
        JSON.stringify(source)
      }: `;
    super(`${prefix}${head}\n${lines.join("\n")}`, options);
    this.name = "ConfigValidationError";
    this.problems = problems;
    this.source = source;
  }
}
