/** One context of a client config: where to connect and with which identity. */
export interface ClientContext {
  /** Endpoints to dial (apid addresses). */
  endpoints: string[];
  /** Default target nodes. */
  nodes: string[];
  /** base64 of the OS CA certificate PEM. */
  ca: string;
  /** base64 of the client certificate PEM. */
  crt: string;
  /** base64 of the client key PEM. Secret. */
  key: string;
}

/** An osctl client config (like talosconfig). */
export interface ClientConfig {
  /** The current context's name ("" when there is none). */
  context: string;
  /** Contexts by name. */
  contexts: Record<string, ClientContext>;
}
