#!/usr/bin/python3
"""An independent gRPC client (Debian's python3-grpcio) for Bronze's apid.

Usage: apid_client.py OSCONFIG METHOD [NODE,NODE...] [HEX_REQUEST]

Reads the client config (the current context's first endpoint, CA, client
certificate and key), calls /machine.MachineService/METHOD with raw bytes
(no generated stubs), and prints the reply as hex on stdout. A failed call
prints "ERROR <status name> <details>" and exits 2.
"""
import base64
import sys

import grpc
import yaml


def main():
    path, method = sys.argv[1], sys.argv[2]
    nodes = sys.argv[3].split(",") if len(sys.argv) > 3 and sys.argv[3] else []
    request = bytes.fromhex(sys.argv[4]) if len(sys.argv) > 4 else b""
    with open(path) as f:
        config = yaml.safe_load(f)
    ctx = config["contexts"][config["context"]]
    pem = lambda k: base64.b64decode(ctx[k])
    endpoint = ctx["endpoints"][0]
    if ":" not in endpoint:
        endpoint += ":50000"
    creds = grpc.ssl_channel_credentials(pem("ca"), pem("key"), pem("crt"))
    # The node certificate names "bronze-node"; the endpoint is an IP.
    options = [("grpc.ssl_target_name_override", "bronze-node")]
    with grpc.secure_channel(endpoint, creds, options=options) as channel:
        call = channel.unary_unary("/machine.MachineService/" + method)
        metadata = [("nodes", ",".join(nodes))] if nodes else None
        try:
            reply = call(request, timeout=15, metadata=metadata)
        except grpc.RpcError as err:
            sys.stdout.write("ERROR %s %s\n" % (err.code().name, err.details()))
            sys.exit(2)
    sys.stdout.write(reply.hex() + "\n")


if __name__ == "__main__":
    main()
