"""A local stand-in for the StackState receiver: answers every POST with 202, fast.

Run: python benchmarks/receiver.py  (prints its port on the first line)
"""

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver behind a proxy does
    # One write per response, sent at once: http.server's default (headers, then body,
    # unbuffered, Nagle on) meets the client's delayed ACK and adds 40 ms per request to
    # clients that do not happen to dodge it, which real receivers do not.
    wbufsize = 1 << 16
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        remaining = int(self.headers.get("Content-Length", "0"))
        while remaining:
            remaining -= len(self.rfile.read(min(remaining, 1 << 16)))
        # Datadog's `dog` prints the event it gets back; the receiver ignores the body.
        body = b'{"status": "ok", "event": {"title": "", "date_happened": 0, "url": ""}}'
        self.send_response(202)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        sys.exit(0)
