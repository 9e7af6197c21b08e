"""One send per response under gunicorn: the header block leaves with the first body bytes.

gunicorn's ``Response`` sends the status line and headers, then each body chunk, each with a send
of its own. The service's responses are one body chunk with a ``Content-Length``, so that is two
sends per response where one would do: each send is a system call, and each wakes the reader (the
load balancer, a proxy, a client), which then reads an incomplete response. ``OneSendResponse``
builds the header block as gunicorn does and sends it with the first body chunk. Everything else
is gunicorn's: a response without body bytes (HEAD, 204, 304, an empty body) sends its headers when
the write or ``close`` that ends it comes, chunked responses and large bodies send the headers first
(no copy of a large body), and ``sendfile`` sends them first as before.

``install()`` makes gunicorn build its responses with this class; ``gunicorn.conf.py`` calls it in
each worker (``post_fork``).
"""
from __future__ import annotations

from gunicorn import util
from gunicorn.http import wsgi

# Above this, the body is not copied behind the headers: two sends cost less than the copy.
MAX_JOINED_BODY = 64 * 1024


class OneSendResponse(wsgi.Response):
    _held: bytes | None = None  # the header block, built by write() and not sent yet

    def header_block(self) -> bytes:
        """The status line and headers as gunicorn's ``send_headers`` sends them."""
        lines = self.default_headers()
        lines.extend(["%s: %s\r\n" % (k, v) for k, v in self.headers])
        return util.to_bytestring("%s\r\n" % "".join(lines), "latin-1")

    def write(self, arg):
        if not self.headers_sent:
            self._held = self.header_block()
            self.headers_sent = True
        try:
            super().write(arg)  # gunicorn's bookkeeping; it calls _emit_body when bytes are due
        finally:
            self._send_held()  # nothing was due (no body on this response): the headers alone

    def _emit_body(self, data):
        held, self._held = self._held, None
        if held is not None and not self.chunked and len(data) <= MAX_JOINED_BODY:
            util.write(self.sock, held + data)
            return
        if held is not None:
            util.write(self.sock, held)
        super()._emit_body(data)

    def _send_held(self):
        held, self._held = self._held, None
        if held is not None:
            util.write(self.sock, held)


def install() -> None:
    """gunicorn's workers build every response with ``OneSendResponse`` from now on."""
    wsgi.Response = OneSendResponse
