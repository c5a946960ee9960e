/** A temporary directory removed when disposed. */
export interface TempDir extends AsyncDisposable {
  /** Absolute path of the directory. */
  path: string;
}

/** Makes a temporary directory: `await using dir = await tempDir()`. */
export async function tempDir(prefix = "bronze-test-"): Promise<TempDir> {
  const path = await Deno.makeTempDir({ prefix });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}
