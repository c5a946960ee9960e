/** Options for {@linkcode PeerRateLimiter}. */
export interface RateLimitOptions {
  /** Requests a key may make at once (bucket size). */
  burst: number;
  /** Sustained requests per minute per key (refill rate). */
  perMinute: number;
  /** Most peers tracked; the least recently seen are forgotten first. */
  maxPeers?: number;
  /** Clock, for tests. */
  now?: () => number;
}

/** A token bucket per key (a node name or a peer address; trustd says which). */
export class PeerRateLimiter {
  #o: Required<RateLimitOptions>;
  #buckets = new Map<string, { tokens: number; at: number }>();

  /** Makes a limiter; burst and perMinute must be positive. */
  constructor(options: RateLimitOptions) {
    if (!(options.burst >= 1) || !(options.perMinute > 0)) {
      throw new Error(
        `Invalid rate limit: burst ${options.burst}, perMinute ${options.perMinute}`,
      );
    }
    this.#o = { maxPeers: 4096, now: Date.now, ...options };
  }

  /** Takes one token for `peer`; false when the peer is over its limit. */
  take(peer: string): boolean {
    const now = this.#o.now();
    const b = this.#buckets.get(peer) ?? { tokens: this.#o.burst, at: now };
    this.#buckets.delete(peer); // re-insert: Map order = recency
    b.tokens = Math.min(
      this.#o.burst,
      b.tokens + ((now - b.at) / 60000) * this.#o.perMinute,
    );
    b.at = now;
    const ok = b.tokens >= 1;
    if (ok) b.tokens -= 1;
    this.#buckets.set(peer, b);
    while (this.#buckets.size > this.#o.maxPeers) {
      this.#buckets.delete(this.#buckets.keys().next().value!);
    }
    return ok;
  }
}

/** The IP of a gRPC peer string ("ipv4:1.2.3.4:5", "1.2.3.4:5", "[::1]:5"). */
export function peerIp(peer: string): string {
  const p = peer.replace(/^ipv[46]:/, "");
  const v6 = /^\[([^\]]+)\]/.exec(p);
  if (v6) return v6[1];
  const colon = p.lastIndexOf(":");
  return colon > 0 && p.indexOf(":") === colon ? p.slice(0, colon) : p;
}
