import { ApiError } from "../../lib/bus/mod.ts";
import { SecurityServiceService } from "../../lib/api/gen/security/security.ts";
import { type GrpcService, typedService } from "../../lib/grpc/mod.ts";
import type { CertificateAuthority } from "../../lib/pki/mod.ts";
import type { Logger } from "../../lib/log/mod.ts";
import { peerIp, type PeerRateLimiter } from "./rate_limit.ts";
import type { SigningPolicy } from "./signer.ts";
import type { TokenVerifier } from "./token_auth.ts";

/** What trustd's SecurityService is made of. */
export interface TrustdServiceOptions {
  /** The OS CA that signs, loaded on first use. */
  ca: () => Promise<CertificateAuthority>;
  /** Checks the machine token. */
  tokens: TokenVerifier;
  /** Per-peer request limit (applied before the token check). */
  limiter: PeerRateLimiter;
  /** Lifetimes. */
  policy: SigningPolicy;
  /** Audit and refusal log (never a secret). */
  log: Logger;
}

/** security.SecurityService: Certificate signs node server CSRs for token holders. */
export function trustdService(options: TrustdServiceOptions): GrpcService {
  const { ca, tokens, limiter, policy, log } = options;
  return typedService(SecurityServiceService, {
    certificate: async (request, ctx) => {
      const peer = peerIp(ctx.peerAddress);
      if (!limiter.take(peer)) {
        log.warn("certificate request refused", { peer, reason: "rate limit" });
        throw new ApiError(
          "ResourceExhausted",
          "rate limit exceeded, retry later",
        );
      }
      try {
        tokens.verify(ctx.metadata["token"]);
      } catch (err) {
        log.warn("certificate request refused", {
          peer,
          reason: (err as Error).message,
        });
        throw err;
      }
      let issued;
      try {
        // The X.509 code loads with the first request (see ca_check.ts).
        const { signServerCsr } = await import("./signer.ts");
        issued = await signServerCsr(
          await ca(),
          new TextDecoder().decode(request.csr),
          {
            requestedTtlMs: Number(request.ttlSeconds) * 1000,
            policy,
          },
        );
      } catch (err) {
        log.warn("certificate request refused", {
          peer,
          reason: (err as Error).message,
        });
        throw err;
      }
      log.info("certificate issued", {
        peer,
        subject: issued.commonName,
        dnsNames: issued.dnsNames,
        ipAddresses: issued.ipAddresses,
        serial: issued.serial,
        notAfter: issued.notAfter.toISOString(),
        strippedOrganizations: issued.strippedOrganizations,
      });
      return {
        ca: new TextEncoder().encode((await ca()).crtPem),
        crt: new TextEncoder().encode(issued.crt),
      };
    },
  });
}
