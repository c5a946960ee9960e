import { ApiError } from "../../lib/api_error/mod.ts";
import { assertEquals } from "../../lib/testing/mod.ts";
import {
  cleanMessage,
  EndpointError,
  errorLine,
  isRefusedHandshake,
} from "./errors.ts";

Deno.test("cleanMessage() says grpc-js's connection failures in one line", () => {
  assertEquals(
    cleanMessage(
      "No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.9:50000. Resolution note: ",
    ),
    "cannot connect to 127.0.0.9:50000: connection refused",
  );
  assertEquals(
    cleanMessage(
      "No connection established. Last error: write EPIPE (2026-12-04T04:10:32.059Z). Resolution note: ",
    ),
    "cannot connect: connection closed during the TLS handshake",
  );
  assertEquals(
    cleanMessage('14 UNAVAILABLE: no answer from "x" within 5000 ms'),
    'no answer from "x" within 5000 ms',
  );
  assertEquals(
    cleanMessage('service "foo" not defined'),
    'service "foo" not defined',
  ); // The client's "endpoint ADDR: " in front of a failure that names no one.
  assertEquals(
    cleanMessage(
      "endpoint 127.0.0.9:50000: No connection established. Last error: write EPIPE. Resolution note: ",
    ),
    "endpoint 127.0.0.9:50000: cannot connect: connection closed during the TLS handshake",
  );
  assertEquals(
    cleanMessage("endpoint 127.0.0.9:50000: Connection dropped"),
    "endpoint 127.0.0.9:50000: Connection dropped",
  );
});

Deno.test("errorLine() says an ApiError once, not with its grpc-js cause", () => {
  const grpcText =
    "14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.9:50000. Resolution note: ";
  const err = new ApiError(
    "Unavailable",
    grpcText.slice("14 UNAVAILABLE: ".length),
    { cause: new Error(grpcText) },
  );
  assertEquals(
    errorLine(err),
    "cannot connect to 127.0.0.9:50000: connection refused",
  );
  assertEquals(
    errorLine(new Error("Cannot read config", { cause: err })),
    "Cannot read config: cannot connect to 127.0.0.9:50000: connection refused",
  );
  assertEquals(
    errorLine(new EndpointError("the certificate is not ours", { cause: err })),
    "the certificate is not ours",
  );
});

Deno.test("a session closed before it was set up reads as a refused client certificate", () => {
  const err = new ApiError(
    "Unavailable",
    "No connection established. Last error: Failed to connect (2026-12-04T04:10:32.059Z). Resolution note: ",
  );
  assertEquals(isRefusedHandshake(err), true);
  assertEquals(
    errorLine(err),
    "cannot connect: the connection closed while being set up",
  );
  assertEquals(
    isRefusedHandshake(new ApiError("Unavailable", "connect ECONNREFUSED")),
    false,
  );
});

Deno.test("cleanMessage() shortens grpc-js's deadline and unimplemented texts", () => {
  assertEquals(
    cleanMessage(
      "Deadline exceeded after 30.003s,name resolution: 0.032s,metadata filters: 0.001s,Waiting for LB pick",
    ),
    "no answer within 30 s",
  );
  assertEquals(
    cleanMessage("Deadline exceeded after 5.000s,remote_addr=127.0.0.3:50000"),
    "no answer from 127.0.0.3:50000 within 5 s",
  );
  assertEquals(
    cleanMessage(
      "The server does not implement the method /machine.MachineService/ConfigHistory",
    ),
    "the node does not serve ConfigHistory (it runs an older Bronze, or the method is not for it)",
  );
});
