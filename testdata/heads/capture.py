#!/usr/bin/python3
"""Captures real HTTP/1.1 upgrade heads, byte for byte, for testdata/heads.

  capture.py listen PORT FILE
      Accept one connection on 127.0.0.1:PORT, save the request head the
      client sends (up to and including the blank line) to FILE, answer
      with a correct 101 so the client completes its handshake, then close.

  capture.py request HOST:PORT FILE [REQUEST_FILE]
      Send REQUEST_FILE's bytes (default: a plain RFC 6455 request) to
      HOST:PORT and save the response head, and its body up to 4 KiB, to
      FILE.

Only loopback addresses are used. See README.md beside this file for the
commands that made each capture.
"""
import base64
import hashlib
import socket
import sys

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
DEFAULT_REQUEST = (
    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def read_head(sock):
    buf = b""
    while b"\r\n\r\n" not in buf and b"\n\n" not in buf and len(buf) < 65536:
        chunk = sock.recv(4096)
        if not chunk:
            break
        buf += chunk
    end = buf.find(b"\r\n\r\n")
    end = end + 4 if end >= 0 else buf.find(b"\n\n") + 2
    return buf[:end], buf[end:]


def listen(port, path):
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", int(port)))
    srv.listen(1)
    srv.settimeout(60)
    conn, _ = srv.accept()
    conn.settimeout(10)
    head, _ = read_head(conn)
    with open(path, "wb") as f:
        f.write(head)
    key = b""
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"sec-websocket-key":
            key = value.strip()
    accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
    conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
    conn.sendall(b"\x88\x02\x03\xe8")  # close 1000
    conn.close()


def request(addr, path, request_file=None):
    host, port = addr.rsplit(":", 1)
    req = DEFAULT_REQUEST
    if request_file:
        with open(request_file, "rb") as f:
            req = f.read()
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(req)
    head, rest = read_head(sock)
    sock.settimeout(0.5)
    body = rest
    try:
        while len(body) < 4096 and not head.startswith(b"HTTP/1.1 101"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            body += chunk
    except socket.timeout:
        pass
    with open(path, "wb") as f:
        f.write(head + (b"" if head.startswith(b"HTTP/1.1 101") else body[:4096]))
    sock.close()


if __name__ == "__main__":
    if sys.argv[1] == "listen":
        listen(sys.argv[2], sys.argv[3])
    else:
        request(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else None)
