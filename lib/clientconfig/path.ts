/** Where to find the client config. */
export interface ClientConfigPathOptions {
  /** --osconfig, wins over everything. */
  osconfig?: string;
  /** Reads an environment variable ($OSCONFIG, $HOME). */
  env?: (name: string) => string | undefined;
}

function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env for it
  }
}

/** The client config path: --osconfig, else $OSCONFIG, else ~/.osctl/config. */
export function clientConfigPath(
  options: ClientConfigPathOptions = {},
): string {
  if (options.osconfig) return options.osconfig;
  const env = options.env ?? readEnv;
  const fromEnv = env("OSCONFIG");
  if (fromEnv) return fromEnv;
  const home = env("HOME");
  if (!home) {
    throw new Error(
      "Cannot find the client config: set --osconfig, $OSCONFIG or $HOME",
    );
  }
  return `${home}/.osctl/config`;
}
