import { ApiError } from "../../../lib/api_error/mod.ts";
import { SecurityServiceService } from "../../../lib/api/gen/security/security.ts";
import { TlsChannel } from "../../../lib/grpc/mod.ts";
import type { Logger } from "../../../lib/log/mod.ts";

/** Options for {@linkcode requestCertificate}. */
export interface RequestCertificateOptions {
  /** trustd addresses "host:port", tried round-robin. */
  endpoints: readonly string[];
  /** The OS CA certificate (PEM) trustd's certificate must chain to. */
  caPem: string;
  /** The machine token. Secret. */
  token: string;
  /** Requested lifetime in ms (trustd caps it). */
  ttlMs: number;
  /** Gives up when aborted. */
  signal: AbortSignal;
  /** Logs attempts that failed (never the token). */
  log?: Logger;
  /** Per-attempt deadline in ms (default 10 s). */
  attemptTimeoutMs?: number;
  /** First retry delay in ms (default 500), doubling up to `maxBackoffMs`. */
  initialBackoffMs?: number;
  /** Longest retry delay in ms (default 5 s). */
  maxBackoffMs?: number;
}

/** trustd's answer: the CA bundle and the signed certificate, PEM. */
export interface TrustdCertificate {
  /** CA certificate(s). */
  ca: string;
  /** The issued certificate. */
  crt: string;
}

/**
 * Asks trustd to sign a CSR, trying the endpoints round-robin with
 * exponential backoff until one answers or `signal` aborts. Refusals that a
 * retry cannot fix (bad token, bad CSR) are retried too, but logged as such.
 */
export async function requestCertificate(
  csrPem: string,
  options: RequestCertificateOptions,
): Promise<TrustdCertificate> {
  if (options.endpoints.length === 0) {
    throw new Error("Cannot request a certificate: no trustd endpoint");
  }
  let backoff = options.initialBackoffMs ?? 500;
  const maxBackoff = options.maxBackoffMs ?? 5000;
  for (let attempt = 0;; attempt++) {
    options.signal.throwIfAborted();
    const endpoint = options.endpoints[attempt % options.endpoints.length];
    const channel = new TlsChannel(endpoint, { ca: options.caPem });
    try {
      const reply = await channel.unary(SecurityServiceService.certificate, {
        csr: new TextEncoder().encode(csrPem),
        ttlSeconds: Math.ceil(options.ttlMs / 1000),
      }, {
        metadata: { token: options.token },
        timeoutMs: options.attemptTimeoutMs ?? 10000,
        signal: options.signal,
      });
      const dec = new TextDecoder();
      return { ca: dec.decode(reply.ca), crt: dec.decode(reply.crt) };
    } catch (err) {
      options.signal.throwIfAborted();
      const e = err instanceof ApiError ? err : undefined;
      options.log?.warn("trustd request failed", {
        endpoint,
        attempt,
        status: e?.status,
        error: err instanceof Error ? err.message : String(err),
        retryInMs: backoff,
      });
    } finally {
      channel.close();
    }
    await sleep(backoff * (0.8 + 0.4 * Math.random()), options.signal);
    backoff = Math.min(backoff * 2, maxBackoff);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
