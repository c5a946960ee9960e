import { Buffer } from "node:buffer";
import { connect } from "node:tls";
import {
  type CertificateRequest,
  SecurityServiceService,
} from "../lib/api/gen/security/security.ts";
import { GrpcServer, TlsChannel, typedService } from "../lib/grpc/mod.ts";
import {
  NODE_SERVER_NAME,
  readCertDir,
  watchCertDir,
} from "../lib/certdir/mod.ts";
import { runNodeCertificates } from "../services/machined/certificates/node_certificates.ts";
import { CertificateAuthority } from "../lib/pki/mod.ts";
import { pemToBase64 } from "../lib/pem/mod.ts";
import { createLogger } from "../lib/log/mod.ts";
import { assert, assertEquals, tempDir } from "../lib/testing/mod.ts";

const TTL_MS = 3000; // renewed at half-life: about every 1.5 s
const ROTATIONS = 4;
const WORKERS = 4;

/** The serial of the certificate a fresh TLS handshake is served. */
function servedSerial(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({
      host: "127.0.0.1",
      port,
      ca,
      servername: NODE_SERVER_NAME,
      ALPNProtocols: ["h2"],
    });
    s.once("secureConnect", () => {
      const serial = s.getPeerCertificate().serialNumber;
      s.destroy();
      resolve(serial);
    });
    s.once("error", (err) => {
      s.destroy();
      reject(err);
    });
  });
}

Deno.test("certificate rotation under load drops no call", async () => {
  await using dir = await tempDir();
  const ca = await CertificateAuthority.create();
  const admin = await ca.issueKeyPair({
    commonName: "admin",
    organizations: ["os:admin"],
    usages: ["clientAuth"],
    ttlMs: 3600e3,
  });
  const ac = new AbortController();
  const certs = runNodeCertificates({
    config: {
      version: "v1alpha1",
      machine: {
        type: "controlplane",
        token: "abc123.0123456789abcdef",
        ca: { crt: pemToBase64(ca.crtPem), key: pemToBase64(ca.keyPem) },
      },
      cluster: { name: "demo", controlPlane: { endpoint: "127.0.0.1" } },
    },
    address: "127.0.0.1",
    hostname: "cp1",
    stateDir: dir.path,
    signal: ac.signal,
    log: createLogger("nodecerts", { level: "error" }),
    ttlMs: TTL_MS,
  });
  await certs.ready();
  const apidDir = `${dir.path}/certs/apid`;
  const first = await readCertDir(apidDir);
  const service = typedService(SecurityServiceService, {
    // A little work per call, so calls are in flight when certificates change.
    certificate: (req) =>
      new Promise((r) =>
        setTimeout(() => r({ ca: Buffer.alloc(0), crt: req.csr }), 5)
      ),
  });
  const server = await GrpcServer.start({
    host: "127.0.0.1",
    tls: first.server,
    requireClientCert: true,
    services: [service],
  });
  let reloads = 0;
  const watching = watchCertDir(apidDir, (m) => {
    server.updateTls(m.server);
    reloads++;
  }, { signal: ac.signal, intervalMs: 100 });

  const tls = { ca: ca.crtPem, cert: admin.crt, key: admin.key };
  const req: CertificateRequest = { csr: Buffer.from("ping"), ttlSeconds: 0 };
  let ok = 0;
  let fresh = 0;
  const failures: string[] = [];
  const serials = new Set<string>();
  const deadline = Date.now() + 30000;
  // The first reload is the initial material; then one per rotation. Under
  // load the probe can miss a short-lived certificate, so keep rotating until
  // it has seen enough of them (or the deadline passes).
  const done = () =>
    (reloads > ROTATIONS && serials.size >= ROTATIONS) || Date.now() > deadline;
  const started = performance.now();
  try {
    const longLived = new TlsChannel(server.address, tls);
    const workers = Array.from({ length: WORKERS }, async (_, w) => {
      for (let i = 0; !done(); i++) {
        // Odd workers dial a new connection (new handshake) for every call.
        const ch = w % 2 === 1
          ? new TlsChannel(server.address, tls)
          : longLived;
        try {
          const r = await ch.unary(SecurityServiceService.certificate, req, {
            timeoutMs: 5000,
          });
          assertEquals(new TextDecoder().decode(r.crt), "ping");
          ok++;
          if (ch !== longLived) fresh++;
        } catch (err) {
          failures.push(String(err));
        } finally {
          if (ch !== longLived) ch.close();
        }
      }
    });
    const probe = (async () => {
      while (!done()) {
        serials.add(await servedSerial(server.port, ca.crtPem));
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    await Promise.all([...workers, probe]);
    longLived.close();
  } finally {
    ac.abort();
    await watching;
    await certs.done();
    await server.close(2000);
  }
  const secs = (performance.now() - started) / 1000;
  console.log(
    `rotation under load: ${ok + failures.length} calls in ${
      secs.toFixed(1)
    } s ` +
      `(${fresh} on fresh connections), ${failures.length} failed, ` +
      `${
        reloads - 1
      } rotations applied, ${serials.size} server certificates served`,
  );
  assertEquals(failures, []);
  assert(reloads > ROTATIONS, "not enough rotations before the deadline");
  assert(
    serials.size >= ROTATIONS,
    `new handshakes saw only ${serials.size} certificates`,
  );
  assert(ok > 100, `only ${ok} calls`);
});
