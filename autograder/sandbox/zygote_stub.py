"""Stand-in process for a kernel forked by the zygote (``python -I -S zygote_stub.py FD``).

jupyter_client manages a kernel as a local child process: it polls it, signals its process group
to interrupt it and kills it to shut it down. A kernel forked by the zygote is not our child, so
this stub is: it holds the socket to the kernel's reaper (see ``zygote.py``), forwards SIGINT and
SIGTERM as ``I`` and ``T``, and exits with the kernel's exit code when the reaper reports it. When
the stub is killed, the socket closes and the reaper ends the kernel's whole namespace.
"""
import os
import signal
import socket
import sys


def main(argv):
    link = socket.socket(fileno=int(argv[1]))

    def forward(signum, _frame):
        try:
            link.send(b"I" if signum == signal.SIGINT else b"T")
        except OSError:
            pass

    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    received = b""
    while True:
        data = link.recv(64)
        if not data:
            return 1  # the reaper is gone, and the kernel with it
        received += data
        if b"X" in received and received.endswith(b"\n"):
            try:
                return int(received.split(b"X")[-1].strip())
            except ValueError:
                return 1


if __name__ == "__main__":
    code = main(sys.argv)
    if code < 0:  # the kernel was killed by a signal: so is its stand-in
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    os._exit(code if 0 <= code < 256 else 1)
