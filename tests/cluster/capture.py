#!/usr/bin/env python3
"""A tap on every interface of the network namespace it runs in: appends each
Ethernet frame seen (headers and payload, raw, no pcap framing) to FILE until
SIGTERM. netns_test.sh runs it in its switch namespace, so it sees every
packet between cluster members, and then looks for plaintext in the bytes.

    capture.py FILE       prints "capturing" once the socket is open
"""
import signal
import socket
import sys

ETH_P_ALL = 0x0003


def main():
    if len(sys.argv) != 2:
        print("usage: capture.py FILE", file=sys.stderr)
        return 2
    tap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(ETH_P_ALL))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with open(sys.argv[1], "ab", buffering=0) as out:
        print("capturing", flush=True)
        while True:
            out.write(tap.recv(65536))


if __name__ == "__main__":
    sys.exit(main())
