"""One conversation with a kernel about one check: requests out, untrusted replies in.

:class:`SocketChannel` talks to the kernel's :mod:`lab5_grader` over the connection the kernel
opened; every reply is read with the wire format's limits and a deadline, and decoded without
pickle (:func:`lab5_grader.decode`: JSON, and ``.npy`` arrays of plain numbers). A reply that is
malformed, too large, too slow or missing raises :class:`KernelMisbehaved`, which fails that check
and nothing else. :class:`LocalChannel` runs the same requests against Python objects in this
process through the same encoding both ways (the corpus tests and benchmarks use it).
"""
import time

from autograder.client import lab5_grader as wire


class KernelMisbehaved(Exception):
    """The kernel's side of the conversation broke the protocol (or went silent)."""


class ChannelBase:
    """Counts what crossed the channel; subclasses implement :meth:`_exchange`."""

    def __init__(self):
        self.round_trips = 0
        self.bytes_sent = 0
        self.bytes_received = 0

    def request(self, header, value_fields=()):
        """Send ``header`` (its ``value_fields`` encoded as values) and return the decoded reply."""
        blobs, message = [], dict(header)
        for name in value_fields:
            message[name] = wire.encode(header[name], blobs)
        self.round_trips += 1
        self.bytes_sent += sum(len(b) for b in blobs)
        reply, reply_blobs = self._exchange(message, blobs)
        self.bytes_received += sum(len(b) for b in reply_blobs)
        return reply, reply_blobs

    def decode(self, tree, blobs):
        try:
            return wire.decode(tree, blobs)
        except wire.WireError as exc:
            raise KernelMisbehaved(f"a value in the kernel's reply could not be read ({exc})") from None

    def _exchange(self, message, blobs):
        raise NotImplementedError


class SocketChannel(ChannelBase):
    """The connection a kernel opened to the verifier (``reply_timeout`` seconds per reply)."""

    def __init__(self, connection, reply_timeout):
        super().__init__()
        self.connection = connection
        self.reply_timeout = reply_timeout

    def _exchange(self, message, blobs):
        try:
            self.connection.settimeout(self.reply_timeout)
            wire.send_message(self.connection, message, blobs)
            return wire.receive_message(self.connection, deadline=time.monotonic() + self.reply_timeout)
        except wire.WireError as exc:
            raise KernelMisbehaved(f"the kernel's reply broke the grading protocol ({exc})") from None
        except (TimeoutError, OSError) as exc:  # socket.timeout is a TimeoutError
            raise KernelMisbehaved(f"no reply from the kernel ({type(exc).__name__}: {exc})") from None

    def send_verdict(self, passed, message):
        try:
            self.connection.settimeout(5)
            wire.send_message(self.connection, {"op": "verdict", "passed": bool(passed), "message": message})
        except OSError:
            pass  # the kernel went away: the record still holds the verdict


class LocalChannel(ChannelBase):
    """The client's own ``serve`` on objects of this process, through the wire encoding both ways."""

    def __init__(self, arguments):
        super().__init__()
        self.arguments = list(arguments)

    def _exchange(self, message, blobs):
        import json

        # A real round trip through the format: JSON text and .npy bytes, re-read with its limits.
        request = json.loads(json.dumps(message))
        reply, reply_blobs = wire.serve(request, blobs, self.arguments)
        reply = json.loads(json.dumps(reply, allow_nan=False))
        for blob in reply_blobs:
            if len(blob) > wire.LIMITS["blob_bytes"]:
                raise KernelMisbehaved("a blob beyond the limit")
        return reply, reply_blobs
