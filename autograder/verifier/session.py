"""One kernel's grading: the verifier listens on the kernel's socket and keeps the record.

The grader opens a :class:`Session` before the kernel starts (the socket lives in the kernel's
own socket folder, the one folder besides its working folder that the sandbox lets it write) and
tells it which test cell is running (:meth:`Session.enter_cell`). A check request is served only
while the cell it belongs to (``autograder.checks.CHECKS[name].cell``) is running, and only once
per cell: the first request decides. Every other request -- from a student cell, a background
thread, a second try -- is refused and written down. :meth:`Session.close` returns the record:
for each test cell, the verdict of its check (with the message the student saw and a diagnosis
id), what crossed the socket, and the events a person may want to look at.
"""
import os
import secrets
import socket
import threading
import time

from autograder.checks import CHECKS
from autograder.client import lab5_grader as wire
from autograder.verifier.channel import SocketChannel
from autograder.verifier.runner import Verdict, check_rng, run_check

MAX_CONNECTIONS = 256  # per kernel: far more than the lab's 26 checks, far fewer than a flood
FIRST_MESSAGE_TIMEOUT = 30.0  # seconds for the kernel to say which check it wants, once connected


class Session:
    """The verifier's side of one kernel (see the module docstring). Thread-safe."""

    def __init__(self, socket_path, reply_timeout=120.0, seed=None):
        self.socket_path = str(socket_path)
        self.reply_timeout = float(reply_timeout)
        self.seed = secrets.randbits(63) if seed is None else int(seed)
        self._lock = threading.Lock()
        self._cell = None
        self._cells = {}  # grade_id -> verdict entry
        self._events = []
        self._connections = 0
        self._active = None
        self._closed = threading.Event()
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            os.unlink(self.socket_path)
        except FileNotFoundError:
            pass
        self._listener.bind(self.socket_path)
        os.chmod(self.socket_path, 0o600)
        self._listener.listen(8)
        self._thread = threading.Thread(target=self._serve, name="verifier-session", daemon=True)
        self._thread.start()

    # ---- the grader's side ---------------------------------------------------------------------
    def enter_cell(self, grade_id):
        """The test cell ``grade_id`` (or None: no test cell) runs from now on."""
        with self._lock:
            self._cell = grade_id

    def leave_cell(self):
        self.enter_cell(None)

    def close(self):
        """Stop serving; return the record (see the module docstring)."""
        self._closed.set()
        for sock in (self._listener, self._active):
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
        self._thread.join(timeout=10)
        try:
            os.unlink(self.socket_path)
        except OSError:
            pass
        with self._lock:
            return {"seed": format(self.seed, "x"), "cells": dict(self._cells), "events": list(self._events)}

    # ---- the kernel's side ---------------------------------------------------------------------
    def _note(self, kind, cell, check, detail):
        with self._lock:
            if len(self._events) < 200:
                self._events.append({"kind": kind, "cell": cell, "check": check, "detail": str(detail)[:500]})

    def _serve(self):
        while not self._closed.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self._connections += 1
            if self._connections > MAX_CONNECTIONS:
                if self._connections == MAX_CONNECTIONS + 1:
                    self._note("flood", self._cell, None, f"more than {MAX_CONNECTIONS} connections: the rest were refused")
                connection.close()
                continue
            self._active = connection
            try:
                self._handle(connection)
            except Exception as exc:  # never let one kernel's conversation stop the session
                self._note("protocol", self._cell, None, f"{type(exc).__name__}: {exc}")
            finally:
                self._active = None
                connection.close()

    def _refuse(self, channel, kind, cell, name, message):
        self._note(kind, cell, name, message)
        channel.send_verdict(False, message)

    def _handle(self, connection):
        with self._lock:
            cell = self._cell
        channel = SocketChannel(connection, self.reply_timeout)
        try:
            request, _ = wire.receive_message(connection, deadline=time.monotonic() + FIRST_MESSAGE_TIMEOUT)
        except (wire.WireError, OSError) as exc:
            self._note("protocol", cell, None, f"unreadable first message ({type(exc).__name__}: {exc})")
            return
        name = request.get("name")
        check = CHECKS.get(name) if isinstance(name, str) else None
        if request.get("op") != "check" or check is None:
            self._refuse(channel, "unknown_check", cell, str(name)[:80], f"there is no check called {str(name)[:80]!r}")
            return
        if cell != check.cell:
            where = f"test cell {cell}" if cell else "a cell that is not a test cell"
            self._refuse(channel, "misplaced", cell, name,
                         f"lab5_grader.check({name!r}, ...) belongs to the test cell {check.cell} and was called from {where}: "
                         "it was not run")
            return
        with self._lock:
            repeated = cell in self._cells
        if repeated:
            self._refuse(channel, "repeated", cell, name, f"{name} was already checked in this cell: the first result stands")
            return
        started = time.perf_counter()
        verdict = run_check(check, channel, request.get("arguments"), check_rng(self.seed, name))
        entry = dict(verdict.to_dict(), check=name, round_trips=channel.round_trips, bytes_sent=channel.bytes_sent,
                     bytes_received=channel.bytes_received, seconds=round(time.perf_counter() - started, 4))
        with self._lock:
            self._cells[cell] = entry
        if verdict.internal_error:
            self._note("internal_error", cell, name, verdict.internal_error)
        channel.send_verdict(verdict.passed, verdict.message)


__all__ = ["Session", "Verdict"]
