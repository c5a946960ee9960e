/**
 * Printing byte streams from many nodes line by line: chunks of one node are
 * buffered until a newline, so lines of different nodes never interleave
 * mid-line; each line may carry its node as a `<node>: ` prefix.
 * @module
 */

/** Splits each node's chunks into lines and hands out whole lines. */
export class NodeLines {
  #partial = new Map<string, string>();
  #decoders = new Map<string, TextDecoder>();
  #format: (node: string, line: string) => string;
  #write: (text: string) => void;

  /**
   * `prefix` adds "<node>: " to every line; a function formats each line
   * itself (a JSON line, a YAML document).
   */
  constructor(
    write: (text: string) => void,
    prefix: boolean | ((node: string, line: string) => string),
  ) {
    this.#write = write;
    this.#format = typeof prefix === "function"
      ? prefix
      : prefix
      ? (node, line) => `${node}: ${line}\n`
      : (_, line) => `${line}\n`;
  }

  /** Takes a chunk of a node's stream; writes the lines it completes. */
  push(node: string, chunk: Uint8Array): void {
    let dec = this.#decoders.get(node);
    if (!dec) {
      dec = new TextDecoder();
      this.#decoders.set(node, dec);
    }
    const text = (this.#partial.get(node) ?? "") +
      dec.decode(chunk, { stream: true });
    const lines = text.split("\n");
    this.#partial.set(node, lines.pop() ?? "");
    if (lines.length > 0) {
      this.#write(lines.map((l) => this.#line(node, l)).join(""));
    }
  }

  /** Writes what is left of every node's last line. */
  flush(): void {
    for (const [node, rest] of this.#partial) {
      if (rest !== "") this.#write(this.#line(node, rest));
    }
    this.#partial.clear();
  }

  #line(node: string, line: string): string {
    return this.#format(node, line);
  }
}
