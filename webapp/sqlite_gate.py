"""One SQLite writer at a time, queued by a lock that wakes waiters at once.

SQLite lets one connection write at a time; the others retry with growing sleeps (1, 2, 5,
10... up to 100 ms) until the busy timeout. At the morning peak every page view writes its
audit row, and a waiter that has just gone to sleep for 25 ms stays asleep long after the
lock is free: under load, most of a request's time was spent that way. The gate puts writers
in a queue instead: a thread lock inside each process, then an ``flock`` on a file beside
the database between processes, both of which hand over as soon as the holder lets go.

A connection takes the gate just before its first writing statement and gives it back when
its transaction ends (commit, rollback, close, or the end of an autocommit statement). Reads
never wait: WAL readers do not block on the writer. The gate is an optimisation only: when
it cannot be had within the busy timeout, the statement goes on and SQLite's own locking
decides, as without the gate.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from typing import Any

WAIT_S = 5.0  # the busy timeout (see the PRAGMA in webapp/__init__.py)
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER", "BEGIN IMM",
           "BEGIN EXC")


class _Gate:
    """The writer queue of one database file, in this process."""

    def __init__(self, path: str) -> None:
        self.threads = threading.Lock()
        self.path = path
        self.fd: int | None = None

    def acquire(self) -> bool:
        deadline = time.monotonic() + WAIT_S
        if not self.threads.acquire(timeout=WAIT_S):
            return False
        try:
            if self.fd is None:
                self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            # Only one thread per process gets here, so polling costs next to nothing; the
            # short step keeps the hand-over between processes prompt.
            while True:
                try:
                    fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return True
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        break
                    time.sleep(0.0005)
        except OSError:
            pass
        self.threads.release()
        return False

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        self.threads.release()


_gates: dict[tuple[int, str], _Gate] = {}
_gates_lock = threading.Lock()


def _gate_for(database: str) -> _Gate:
    # Keyed by process too: a forked worker must open its own file, or its flock would be
    # the parent's.
    key = (os.getpid(), database)
    with _gates_lock:
        gate = _gates.get(key)
        if gate is None:
            gate = _gates[key] = _Gate(database + "-writer.lock")
        return gate


def _is_write(statement: str) -> bool:
    return statement.lstrip()[:9].upper().startswith(_WRITES)


class GatedCursor(sqlite3.Cursor):
    """A cursor that takes its connection's gate before a writing statement."""

    connection: GatedConnection

    def execute(self, sql: str, parameters: Any = (), /) -> GatedCursor:
        self.connection._before(sql)
        try:
            return super().execute(sql, parameters)  # type: ignore[return-value]
        finally:
            self.connection._after()

    def executemany(self, sql: str, seq_of_parameters: Any, /) -> GatedCursor:
        self.connection._before(sql)
        try:
            return super().executemany(sql, seq_of_parameters)  # type: ignore[return-value]
        finally:
            self.connection._after()


class GatedConnection(sqlite3.Connection):
    """A ``sqlite3`` connection whose writes go through the database file's gate.

    Used as the ``factory`` of ``sqlite3.connect``; a database in memory has no gate.
    """

    def __init__(self, database: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        name = os.fspath(database) if not isinstance(database, bytes) else database.decode()
        self._gate = None if name in ("", ":memory:") or name.startswith("file:") \
            else _gate_for(os.path.abspath(name))
        self._holds_gate = False

    def cursor(self, factory: Any = GatedCursor) -> Any:  # type: ignore[override]
        return super().cursor(factory)

    def _before(self, sql: str) -> None:
        if self._gate is not None and not self._holds_gate and _is_write(sql):
            self._holds_gate = self._gate.acquire()

    def _after(self) -> None:
        # Autocommit statements, and a COMMIT or ROLLBACK sent as SQL, end the transaction.
        if self._holds_gate and not self.in_transaction:
            self._let_go()

    def _let_go(self) -> None:
        if self._holds_gate and self._gate is not None:
            self._holds_gate = False
            self._gate.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._let_go()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._let_go()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._let_go()
