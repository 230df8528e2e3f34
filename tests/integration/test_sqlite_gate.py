"""The SQLite writer gate: writers queue, none is lost, and the gate is always handed back."""

from __future__ import annotations

import contextlib
import multiprocessing
import sqlite3
import threading
import time
from pathlib import Path

from webapp.sqlite_gate import GatedConnection


def _connect(path: Path, **kwargs: object) -> GatedConnection:
    connection = sqlite3.connect(path, factory=GatedConnection, timeout=5,
                                 check_same_thread=False, **kwargs)
    assert isinstance(connection, GatedConnection)
    return connection


def _database(tmp_path: Path) -> Path:
    path = tmp_path / "gate.sqlite3"
    with sqlite3.connect(path) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE event (id INTEGER PRIMARY KEY, writer TEXT, n INTEGER)")
    return path


def _write_in_transactions(path: str, writer: str, count: int) -> None:
    connection = _connect(Path(path))
    for n in range(count):
        cursor = connection.cursor()
        cursor.execute("INSERT INTO event (writer, n) VALUES (?, ?)", (writer, n))
        # Python work inside the transaction, as a request's commit does.
        time.sleep(0.0005)
        cursor.execute("UPDATE event SET n = n WHERE writer = ? AND n = ?", (writer, n))
        connection.commit()
    connection.close()


def test_writers_in_threads_and_processes_all_land(tmp_path: Path) -> None:
    """Four processes with three threads each write 50 transactions: 600 rows, no error."""
    path = _database(tmp_path)
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_threaded_writers, args=(str(path), f"p{i}"))
                 for i in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
        assert process.exitcode == 0
    with sqlite3.connect(path) as check:
        rows = check.execute("SELECT writer, count(*) FROM event GROUP BY writer").fetchall()
    assert sorted(rows) == sorted((f"p{i}t{j}", 50) for i in range(4) for j in range(3))


def _threaded_writers(path: str, name: str) -> None:
    threads = [threading.Thread(target=_write_in_transactions, args=(path, f"{name}t{j}", 50))
               for j in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _gate_free(path: Path) -> bool:
    """Whether another connection can take the gate at once."""
    other = _connect(path)
    gate = other._gate
    assert gate is not None
    # A separate process's view: take the file lock without waiting.
    import fcntl
    import os

    fd = os.open(gate.path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        free = gate.threads.acquire(blocking=False)
        if free:
            gate.threads.release()
        return free
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
        other.close()


def test_the_gate_is_held_during_a_write_transaction_and_released_after(tmp_path: Path) -> None:
    path = _database(tmp_path)
    connection = _connect(path)
    cursor = connection.cursor()
    cursor.execute("SELECT count(*) FROM event")
    assert _gate_free(path), "a read must not take the gate"
    cursor.execute("INSERT INTO event (writer, n) VALUES ('a', 1)")
    assert connection._holds_gate
    assert not _gate_free(path)
    connection.commit()
    assert not connection._holds_gate
    assert _gate_free(path)

    cursor.execute("INSERT INTO event (writer, n) VALUES ('a', 2)")
    connection.rollback()
    assert not connection._holds_gate
    assert _gate_free(path)

    with contextlib.suppress(sqlite3.OperationalError):
        cursor.execute("INSERT INTO missing_table VALUES (1)")
    assert not connection._holds_gate, "a failed statement outside a transaction keeps nothing"
    assert _gate_free(path)

    cursor.execute("INSERT INTO event (writer, n) VALUES ('a', 3)")
    connection.close()
    assert _gate_free(path), "closing a connection mid-transaction hands the gate back"


def test_an_autocommit_statement_releases_the_gate_when_it_ends(tmp_path: Path) -> None:
    path = _database(tmp_path)
    connection = _connect(path, isolation_level=None)
    connection.cursor().execute("INSERT INTO event (writer, n) VALUES ('auto', 1)")
    assert not connection._holds_gate
    assert _gate_free(path)
    with sqlite3.connect(path) as check:
        assert check.execute("SELECT count(*) FROM event").fetchone()[0] == 1


def test_a_database_in_memory_has_no_gate() -> None:
    connection = sqlite3.connect(":memory:", factory=GatedConnection)
    assert isinstance(connection, GatedConnection)
    assert connection._gate is None
    connection.cursor().execute("CREATE TABLE t (x)")
    connection.cursor().execute("INSERT INTO t VALUES (1)")
    connection.commit()
