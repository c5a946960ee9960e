import { ApiError } from "../../lib/api_error/mod.ts";
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
  /**
   * Request limit, by identity: a token holder's requests count against the
   * node its CSR names (`node NAME`), anything else against its peer address
   * (`ip ADDRESS`), so a flood of bad tokens from an address many nodes
   * share (127.0.0.1 in process mode) never spends the nodes' renewals.
   */
  limiter: PeerRateLimiter;
  /** Lifetimes. */
  policy: SigningPolicy;
  /** Audit and refusal log (never a secret). */
  log: Logger;
}

/** security.SecurityService: Certificate signs node server CSRs for token holders. */
export function trustdService(options: TrustdServiceOptions): GrpcService {
  const { ca, tokens, limiter, policy, log } = options;
  const limited = (peer: string, identity: string): ApiError => {
    log.warn("certificate request refused", {
      peer,
      identity,
      reason: "rate limit",
    });
    return new ApiError(
      "ResourceExhausted",
      "rate limit exceeded, retry later",
    );
  };
  return typedService(SecurityServiceService, {
    certificate: async (request, ctx) => {
      const peer = peerIp(ctx.peerAddress);
      // The token check is a constant-time hash compare: cheap enough to
      // come first and decide whose allowance the request spends.
      try {
        tokens.verify(ctx.metadata["token"]);
      } catch (err) {
        if (!limiter.take(`ip ${peer}`)) throw limited(peer, "");
        log.warn("certificate request refused", {
          peer,
          reason: (err as Error).message,
        });
        throw err;
      }
      let issued;
      try {
        // The X.509 code loads with the first request (see ca_check.ts).
        const { csrIdentity, readCsr, signServerCsr } = await import(
          "./signer.ts"
        );
        const csr = await readCsr(new TextDecoder().decode(request.csr));
        const identity = csrIdentity(csr);
        if (!limiter.take(`node ${identity}`)) throw limited(peer, identity);
        issued = await signServerCsr(await ca(), csr, {
          requestedTtlMs: Number(request.ttlSeconds) * 1000,
          policy,
        });
      } catch (err) {
        if (err instanceof ApiError && err.status === "ResourceExhausted") {
          throw err;
        }
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
