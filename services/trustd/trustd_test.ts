import { ApiError } from "../../lib/api_error/mod.ts";
import { CertificateAuthority } from "../../lib/pki/mod.ts";
import { pemToBase64 } from "../../lib/pem/mod.ts";
import {
  assert,
  assertEquals,
  assertIncludes,
  assertThrows,
} from "../../lib/testing/mod.ts";
import { peerIp, PeerRateLimiter } from "./rate_limit.ts";
import { parseTrustdSecrets } from "./secrets.ts";
import { TokenVerifier } from "./token_auth.ts";

Deno.test("PeerRateLimiter allows a burst, then the refill rate, per peer", () => {
  let now = 0;
  const l = new PeerRateLimiter({ burst: 3, perMinute: 6, now: () => now });
  assertEquals([l.take("a"), l.take("a"), l.take("a"), l.take("a")], [
    true,
    true,
    true,
    false,
  ]);
  assert(l.take("b"), "peers are independent");
  now += 10_000; // one token per 10 s
  assertEquals([l.take("a"), l.take("a")], [true, false]);
  const small = new PeerRateLimiter({
    burst: 1,
    perMinute: 1,
    maxPeers: 2,
    now: () => now,
  });
  small.take("x");
  small.take("y");
  small.take("z"); // forgets x
  assert(small.take("x"), "a forgotten peer starts with a full bucket");
  assertThrows(
    () => new PeerRateLimiter({ burst: 0, perMinute: 1 }),
    Error,
    "Invalid rate limit: burst 0",
  );
});

Deno.test("peerIp() reads grpc-js peer strings", () => {
  assertEquals(peerIp("ipv4:127.0.0.1:5000"), "127.0.0.1");
  assertEquals(peerIp("127.0.0.1:5000"), "127.0.0.1");
  assertEquals(peerIp("ipv6:[::1]:5000"), "::1");
  assertEquals(peerIp("[fd00::2]:1"), "fd00::2");
});

Deno.test("TokenVerifier: missing vs invalid token", () => {
  const v = new TokenVerifier("abc123.0123456789abcdef");
  v.verify(["abc123.0123456789abcdef"]);
  for (
    const [sent, msg] of [
      [undefined, "missing token"],
      [[], "missing token"],
      [[""], "missing token"],
      [["abc123.0123456789abcdee"], "invalid token"],
      [["x"], "invalid token"],
    ] as const
  ) {
    const err = assertThrows(() => v.verify(sent)) as ApiError;
    assertEquals([err.status, err.message], ["Unauthenticated", msg]);
  }
});

Deno.test("parseTrustdSecrets() accepts PEM or base64 PEM and names bad fields only", async () => {
  const ca = await CertificateAuthority.create();
  const token = "abc123.0123456789abcdef";
  const pem = parseTrustdSecrets({
    trustd: { caCrt: ca.crtPem, caKey: ca.keyPem, token },
  });
  assertEquals(pem.caKey, ca.keyPem);
  const b64 = parseTrustdSecrets({
    trustd: {
      caCrt: pemToBase64(ca.crtPem),
      caKey: pemToBase64(ca.keyPem),
      token,
    },
  });
  assertEquals(b64, pem);
  const err = String(
    assertThrows(
      () =>
        parseTrustdSecrets({ trustd: { caCrt: ca.crtPem, caKey: "x", token } }),
      Error,
      "caKey is not PEM",
    ),
  );
  assertIncludes(err, "caKey is not PEM");
  const bad = String(
    assertThrows(
      () =>
        parseTrustdSecrets({
          trustd: { caCrt: ca.crtPem, caKey: ca.keyPem, token: "hunter2" },
        }),
      Error,
      "token is missing or not",
    ),
  );
  assert(!bad.includes("hunter2"));
  assertThrows(
    () => parseTrustdSecrets({}),
    Error,
    '"trustd" is missing on stdin',
  );
});
