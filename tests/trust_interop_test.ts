import { Buffer } from "node:buffer";
import { SecurityServiceService } from "../lib/api/gen/security/security.ts";
import { GrpcServer, typedService } from "../lib/grpc/mod.ts";
import { NODE_SERVER_NAME } from "../lib/certdir/mod.ts";
import { CertificateAuthority, type KeyAlgorithm } from "../lib/pki/mod.ts";
import { assertEquals, tempDir } from "../lib/testing/mod.ts";

const PYTHON = "/usr/bin/python3"; // Debian's, where python3-grpcio lives

function hasGrpcio(): boolean {
  try {
    return new Deno.Command(PYTHON, { args: ["-c", "import grpc"] })
      .outputSync()
      .success;
  } catch {
    return false;
  }
}

const CLIENT = `
import grpc, sys
d, target = sys.argv[1], sys.argv[2]
r = lambda f: open(d + "/" + f, "rb").read()
creds = grpc.ssl_channel_credentials(r("ca.crt"), r("client.key"), r("client.crt"))
ch = grpc.secure_channel(target, creds, options=[("grpc.ssl_target_name_override", "${NODE_SERVER_NAME}")])
call = ch.unary_unary("/securityapi.SecurityService/Certificate")
# CertificateRequest{csr: "hi"}: field 1, wire type 2
reply = call(b"\\x0a\\x02hi", timeout=10)
sys.stdout.write(reply.hex())
`;

Deno.test({
  name:
    "python3-grpcio calls a Bronze mTLS server (ECDSA P-256 and Ed25519 PKI)",
  ignore: !hasGrpcio(),
  fn: async (t) => {
    for (const algorithm of ["ecdsa-p256", "ed25519"] as KeyAlgorithm[]) {
      await t.step(algorithm, async () => {
        await using dir = await tempDir();
        const ca = await CertificateAuthority.create({ algorithm });
        const server = await ca.issueKeyPair({
          commonName: "cp1",
          dnsNames: [NODE_SERVER_NAME],
          ipAddresses: ["127.0.0.1"],
          usages: ["serverAuth"],
          ttlMs: 600e3,
          algorithm,
        });
        const client = await ca.issueKeyPair({
          commonName: "py",
          organizations: ["os:reader"],
          usages: ["clientAuth"],
          ttlMs: 600e3,
          algorithm,
        });
        await Deno.writeTextFile(`${dir.path}/ca.crt`, ca.crtPem);
        await Deno.writeTextFile(`${dir.path}/client.crt`, client.crt);
        await Deno.writeTextFile(`${dir.path}/client.key`, client.key, {
          mode: 0o600,
        });
        const grpcServer = await GrpcServer.start({
          host: "127.0.0.1",
          tls: { ca: ca.crtPem, cert: server.crt, key: server.key },
          requireClientCert: true,
          services: [typedService(SecurityServiceService, {
            certificate: (req, ctx) =>
              Promise.resolve({
                ca: Buffer.from(ctx.peerCert?.organizations.join(",") ?? ""),
                crt: Buffer.from(req.csr),
              }),
          })],
        });
        try {
          const out = await new Deno.Command(PYTHON, {
            args: ["-c", CLIENT, dir.path, grpcServer.address],
            stdout: "piped",
            stderr: "piped",
          }).output();
          const err = new TextDecoder().decode(out.stderr);
          assertEquals(out.code, 0, err);
          // CertificateResponse{ca: "os:reader", crt: "hi"}
          const hex = new TextDecoder().decode(out.stdout);
          assertEquals(
            hex,
            Buffer.from("\x0a\x09os:reader\x12\x02hi").toString("hex"),
          );
        } finally {
          await grpcServer.close(1000);
        }
      });
    }
  },
});
