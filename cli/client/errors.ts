/**
 * One clear line per failure: grpc-js's connection texts ("No connection
 * established. Last error: ... Resolution note: ") read as what happened, the
 * status text said once, TLS failures named for what they mean to an operator.
 * @module
 */
import { ApiError } from "../../lib/api_error/mod.ts";
import { errorText } from "../../lib/log/mod.ts";

const SOCKET_ERRORS: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  ETIMEDOUT: "connection timed out",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  EPIPE: "connection closed during the TLS handshake",
};

/** A failure at an endpoint said in full (its cause is grpc-js's text). */
export class EndpointError extends Error {
  /** Makes an endpoint error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "EndpointError";
  }
}

/** Certificate-chain failures: the peer's certificate is not from our CA. */
const UNTRUSTED =
  /unable to verify the first certificate|self[- ]signed certificate|unable to get (local )?issuer certificate|certificate signature failure|CERT_UNTRUSTED/i;

/** Whether a call failed because the server's certificate is not from our CA. */
export function isUntrustedServer(err: unknown): boolean {
  return UNTRUSTED.test(errorText(err));
}

/** Whether the server ended the TLS handshake (it refused our certificate). */
export function isRefusedHandshake(err: unknown): boolean {
  // The server checks the client certificate after the client's side of
  // the TLS 1.3 handshake is done: a refusal shows as EPIPE or a reset, or
  // as a session closed before its first HTTP/2 settings ("Failed to connect").
  return /write EPIPE|ECONNRESET|certificate required|Client network socket disconnected before secure TLS|Last error: Failed to connect\b/i
    .test(errorText(err));
}

/** Rewrites one grpc-js message as one short line. */
export function cleanMessage(text: string): string {
  let s = text.replace(/\s*\n\s*/g, " ");
  // "14 UNAVAILABLE: ..." repeats the status the message already explains.
  s = s.replace(/^\d+ [A-Z_]+: /, "");
  s = s.replace(/\s*Resolution note:\s*(?=$|:)/g, "");
  s = s.replace(/ \(\d{4}-\d\d-\d\dT[\d:.]+Z\)/g, "");
  // Deno's I/O errors: "No such file or directory (os error 2): stat 'x'"
  // after a message that already names the file.
  s = s.replace(/ \(os error \d+\)(?:: \w+ '[^']*')?/g, "");
  // An "endpoint ADDR: " prefix (the client's) stays in front.
  const named = /^(endpoint \S+: )(.*)$/.exec(s);
  if (named) return named[1] + cleanMessage(named[2]);
  // grpc-js's deadline text lists its internal timings.
  const late =
    /^Deadline exceeded after ([\d.]+)s(?:,.*?remote_addr=([^,\s]+))?/
      .exec(s);
  if (late) {
    const secs = Math.round(Number(late[1]));
    return late[2]
      ? `no answer from ${late[2]} within ${secs} s`
      : `no answer within ${secs} s`;
  }
  const unimplemented =
    /^The server does not implement the method \/[\w.]+\/(\w+)$/.exec(s);
  if (unimplemented) {
    return `the node does not serve ${
      unimplemented[1]
    } (it runs an older Bronze, or the method is not for it)`;
  }
  const m = /^No connection established\. Last error: (?:Error: )?(.*?)\.?$/
    .exec(s);
  if (m) {
    const sock = /^(?:connect|write|read) (E[A-Z]+)(?: ([\d.:[\]a-f]+))?$/i
      .exec(m[1]);
    if (sock && SOCKET_ERRORS[sock[1]]) {
      return sock[2]
        ? `cannot connect to ${sock[2]}: ${SOCKET_ERRORS[sock[1]]}`
        : `cannot connect: ${SOCKET_ERRORS[sock[1]]}`;
    }
    if (m[1] === "Failed to connect") {
      return "cannot connect: the connection closed while being set up";
    }
    return `cannot connect: ${m[1]}`;
  }
  return s.trim();
}

/** The error as one line: causes joined once, grpc-js's noise taken out. */
export function errorLine(err: unknown): string {
  // An ApiError's message is the status details; its cause repeats them.
  if (err instanceof ApiError || err instanceof EndpointError) {
    return cleanMessage(err.message);
  }
  const parts: string[] = [];
  let cur: unknown = err;
  for (let depth = 0; cur !== undefined && depth < 8; depth++) {
    const text = cleanMessage(cur instanceof Error ? cur.message : String(cur));
    if (!parts.some((p) => p.includes(text))) parts.push(text);
    if (cur instanceof ApiError || cur instanceof EndpointError) break;
    cur = cur instanceof Error ? cur.cause : undefined;
  }
  return parts.join(": ");
}
