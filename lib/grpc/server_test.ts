import { Buffer } from "node:buffer";
import { ApiError } from "../api_error/mod.ts";
import {
  type CertificateRequest,
  SecurityServiceService,
} from "../api/gen/security/security.ts";
import { CertificateAuthority } from "../pki/mod.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  assertRejects,
  assertThrows,
} from "../testing/mod.ts";
import { GrpcServer } from "./server.ts";
import type { TlsMaterial } from "../certdir/mod.ts";
import { type GrpcService, typedService } from "./typed_service.ts";
import { TlsChannel, type TlsChannelOptions } from "./typed_client.ts";
import { type TestPki, testPki } from "./_tls_fixtures_test.ts";

function openChannel(
  address: string,
  tls: ConstructorParameters<typeof TlsChannel>[1],
  options?: TlsChannelOptions,
): TlsChannel {
  return new TlsChannel(address, tls, options);
}
const dec = new TextDecoder();
const req = (s: string): CertificateRequest => ({
  csr: Buffer.from(s),
  ttlSeconds: 0,
});

const echo: GrpcService = typedService(SecurityServiceService, {
  certificate: (request, ctx) => {
    const csr = dec.decode(request.csr);
    if (csr === "deny") {
      return Promise.reject(new ApiError("PermissionDenied", "not you"));
    }
    if (csr === "crash") return Promise.reject(new Error("boom"));
    return Promise.resolve({
      ca: Buffer.from(JSON.stringify(ctx.peerCert)),
      crt: Buffer.from(ctx.metadata["x-test"]?.[0] ?? ""),
    });
  },
});

const counter: GrpcService = typedService({
  Count: {
    path: "/test.Test/Count",
    requestStream: false as const,
    responseStream: true as const,
    requestSerialize: (b: Buffer) => b,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (b: Buffer) => b,
    responseDeserialize: (b: Buffer) => b,
  },
}, {
  Count: async function* (request: Buffer) {
    for (let i = 0; i < Number(dec.decode(request)); i++) {
      yield Buffer.from(String(i));
    }
  },
});

interface Fixture extends AsyncDisposable {
  pki: TestPki;
  tls: TlsMaterial;
  server: GrpcServer;
  client(): TlsChannel;
}

async function fixture(): Promise<Fixture> {
  const pki = await testPki();
  const tls = { ca: pki.ca.crtPem, cert: pki.server.crt, key: pki.server.key };
  const server = await GrpcServer.start({
    host: "127.0.0.1",
    tls,
    requireClientCert: true,
    services: [echo, counter],
  });
  return {
    pki,
    tls,
    server,
    client: () =>
      openChannel(server.address, {
        ca: pki.ca.crtPem,
        cert: pki.client.crt,
        key: pki.client.key,
      }),
    [Symbol.asyncDispose]: () => server.close(1000),
  };
}

Deno.test("GrpcServer: handlers see the client certificate's CN and O", async () => {
  await using f = await fixture();
  const ch = f.client();
  try {
    const r = await ch.unary(SecurityServiceService.certificate, req("hi"), {
      timeoutMs: 5000,
      metadata: { "x-test": "meta" },
    });
    assertEquals(JSON.parse(dec.decode(r.ca)), {
      commonName: "admin",
      organizations: ["os:admin", "os:reader"],
    });
    assertEquals(dec.decode(r.crt), "meta");
  } finally {
    ch.close();
  }
});

Deno.test("GrpcServer: ApiErrors keep their status, other errors are Unknown", async () => {
  await using f = await fixture();
  const ch = f.client();
  try {
    const denied = await assertRejects(() =>
      ch.unary(SecurityServiceService.certificate, req("deny"), {
        timeoutMs: 5000,
      })
    );
    assert(denied instanceof ApiError);
    assertEquals([denied.status, denied.message], [
      "PermissionDenied",
      "not you",
    ]);
    const crash = await assertRejects(() =>
      ch.unary(SecurityServiceService.certificate, req("crash"), {
        timeoutMs: 5000,
      })
    ) as ApiError;
    assertEquals(crash.status, "Unknown");
  } finally {
    ch.close();
  }
});

Deno.test("GrpcServer: server streams arrive in order", async () => {
  await using f = await fixture();
  const ch = f.client();
  try {
    const got: string[] = [];
    const count = {
      path: "/test.Test/Count",
      requestSerialize: (b: Buffer) => b,
      responseDeserialize: (b: Buffer) => b,
    };
    const replies = ch.stream(count, Buffer.from("5"), { timeoutMs: 5000 });
    for await (const m of replies) got.push(dec.decode(m));
    assertEquals(got, ["0", "1", "2", "3", "4"]);
  } finally {
    ch.close();
  }
});

Deno.test("GrpcServer: foreign-CA and certificate-less clients are refused promptly", async () => {
  await using f = await fixture();
  const foreign = await CertificateAuthority.create();
  const stranger = await foreign.issueKeyPair({
    commonName: "x",
    organizations: ["os:admin"],
    usages: ["clientAuth"],
    ttlMs: 60e3,
  });
  for (const creds of [{ cert: stranger.crt, key: stranger.key }, {}]) {
    const ch = openChannel(f.server.address, {
      ca: f.pki.ca.crtPem,
      ...creds,
    }, { channelOptions: { "grpc.initial_reconnect_backoff_ms": 20 } });
    const t0 = performance.now();
    try {
      const err = await assertRejects(() =>
        ch.unary(SecurityServiceService.certificate, req("hi"), {
          timeoutMs: 5000,
        })
      ) as ApiError;
      assertEquals(err.status, "Unavailable");
      assert(performance.now() - t0 < 4000, "refusal took until the deadline");
    } finally {
      ch.close();
    }
  }
  // grpc-js's reconnect backoff timer (20 ms here) outlives close() after a
  // failed handshake; let it fire so the op sanitizer sees no leak.
  await new Promise((r) => setTimeout(r, 200));
});

Deno.test("GrpcServer: the first call right after bind succeeds", async () => {
  const pki = await testPki();
  const tls = { ca: pki.ca.crtPem, cert: pki.server.crt, key: pki.server.key };
  let failures = 0;
  for (let i = 0; i < 5; i++) {
    const s = await GrpcServer.start({
      host: "127.0.0.1",
      tls,
      requireClientCert: true,
      services: [echo],
    });
    const ch = openChannel(s.address, {
      ca: pki.ca.crtPem,
      cert: pki.client.crt,
      key: pki.client.key,
    });
    try {
      await ch.unary(SecurityServiceService.certificate, req("hi"), {
        timeoutMs: 5000,
      });
    } catch {
      failures++;
    } finally {
      ch.close();
      await s.close(1000);
    }
  }
  console.log(`first call after bind: ${failures}/5 failed`);
  assertEquals(failures, 0);
});

Deno.test("GrpcServer.updateTls() refuses unusable material", async () => {
  await using f = await fixture();
  const err = assertThrows(() =>
    f.server.updateTls({ ...f.tls, key: f.pki.client.key })
  );
  assertIncludes(String(err), "the key does not match the certificate");
  assertThrows(
    () => f.server.updateTls({ ...f.tls, cert: "junk" }),
    Error,
    "Cannot load TLS material: certificate, key or CA is unusable",
  );
  const ch = f.client();
  try {
    await ch.unary(SecurityServiceService.certificate, req("hi"), {
      timeoutMs: 5000,
    });
  } finally {
    ch.close();
  }
});

Deno.test("GrpcServer.close() closes connected clients at the socket and leaves nothing running", async () => {
  // close() must not go through grpc-js's tryShutdown: its GOAWAY can crash a
  // Deno peer (see _connections.ts), and it leaves timers behind. Eight
  // rounds of a connected client across a close.
  for (let round = 0; round < 8; round++) {
    const f = await fixture();
    const ch = f.client();
    try {
      await ch.unary(SecurityServiceService.certificate, req("hi"), {
        timeoutMs: 5000,
      });
      await f.server.close(1000);
      const err = await assertRejects(() =>
        ch.unary(SecurityServiceService.certificate, req("hi"), {
          timeoutMs: 3000,
        })
      );
      assert(err instanceof ApiError);
      assert(
        ["Unavailable", "Internal"].includes(err.status),
        `${err.status}: ${err.message}`,
      );
    } finally {
      ch.close();
    }
  }
});
