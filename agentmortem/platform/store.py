"""The one owner of the ClickHouse connection, for every component.

`Store` turns `AGENTMORTEM_CLICKHOUSE_URL` into a clickhouse-connect client — the
embedded chDB engine for `chdb:///path`, a server for `http(s)://…` — and offers the
few operations the rest of the code needs: parameterised queries, commands, and
column-oriented inserts. Driver exceptions become `StoreError` here and nowhere else.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlparse

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

log = logging.getLogger(__name__)


class StoreError(Exception):
    """The database refused or failed an operation (retryable from a client's view).

    `code` is the ClickHouse error code when the database gave one.
    """

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class DataRejected(StoreError):
    """The database refused the inserted data itself (it cannot parse, convert or place a value):
    sending the same data again cannot succeed, unlike a database that is down or overloaded."""


# ClickHouse error codes (src/Common/ErrorCodes.cpp) that blame the data of an INSERT: parse,
# conversion, range, size and protobuf errors, and a CHECK constraint of the table refusing a row.
DATA_ERROR_CODES = frozenset({
    6, 25, 26, 27, 32, 33, 38, 41, 53, 69, 70, 72, 117, 128, 130, 131, 190, 321, 407, 436, 444, 467, 469,
})
_TOO_MANY_PARTS = 252  # also the code of "Too many partitions for single INSERT block", which is the data's
_CODE = re.compile(r"Code: (\d+)\.")


def classify(message: str) -> StoreError:
    """A driver error message as `DataRejected` when it blames the data, else `StoreError`."""
    match = _CODE.search(message)
    code = int(match.group(1)) if match else None
    if code in DATA_ERROR_CODES or (code == _TOO_MANY_PARTS and "partitions for single INSERT block" in message):
        return DataRejected(message, code)
    return StoreError(message, code)


class StoreInUse(StoreError):
    """The embedded data directory is held by another process (chDB allows one per directory)."""


def data_dir_in_use(path: str) -> bool:
    """Whether another process holds the embedded engine's lock on `path` (its `status` file).

    Only meaningful when this process has not opened the engine itself: the lock is per
    open file, so probing our own directory would report it in use.
    """
    try:
        fd = os.open(os.path.join(path, "status"), os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Location:
    """Where the data lives, parsed from the URL."""

    embedded: bool
    path: str | None = None  # embedded only: absolute data directory
    host: str | None = None
    port: int | None = None
    username: str = "default"
    password: str = ""
    database: str = "default"
    secure: bool = False

    def describe(self) -> str:
        """A printable form without the password."""
        if self.embedded:
            return f"chdb://{self.path}"
        scheme = "https" if self.secure else "http"
        return f"{scheme}://{self.username}@{self.host}:{self.port}/{self.database}"


def parse_url(url: str) -> Location:
    """Parse `chdb:///path` (relative when it starts with `/./`) or `http(s)://u:p@h:port/db`."""
    if url.startswith("chdb:"):
        rest = url[len("chdb:") :]
        if rest.startswith("//"):
            rest = rest[2:]
        if rest.startswith("/./") or rest.startswith("/../"):
            rest = rest[1:]  # chdb:///./data means ./data relative to the working directory
        if not rest or rest in ("memory", ":memory:"):
            raise ValueError("an embedded store needs a directory: chdb:///path/to/dir")
        return Location(embedded=True, path=os.path.realpath(rest))
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError(f"unsupported ClickHouse URL: {url!r}")
    secure = parsed.scheme == "https"
    database = unquote(parsed.path.strip("/")) or "default"
    return Location(
        embedded=False,
        host=parsed.hostname,
        port=parsed.port or (8443 if secure else 8123),
        username=unquote(parsed.username or "default"),
        password=unquote(parsed.password or ""),
        database=database,
        secure=secure,
    )


class Store:
    """A thread-safe handle on the database named by one URL."""

    def __init__(self, url: str, *, database: str | None = None, create_database: bool = True) -> None:
        """`create_database=False`: a missing database is the caller's to report, not ours to create
        (the commands that may not change the schema)."""
        self.location = parse_url(url)
        # Tests isolate themselves in one chDB path by database; servers name it in the URL.
        self.database = database or self.location.database
        self._local = threading.local()
        self._lock = threading.Lock()
        self._clients: list[Client] = []
        if self.location.embedded:
            os.makedirs(self.location.path or ".", exist_ok=True)
        if create_database:
            self._ensure_database()

    # -- connection ------------------------------------------------------------
    def _connect(self, database: str | None) -> Client:
        loc = self.location
        try:
            if loc.embedded:
                client = clickhouse_connect.get_client(
                    interface="chdb", path=loc.path, database=database
                )
            else:
                client = clickhouse_connect.get_client(
                    host=loc.host,
                    port=loc.port,
                    username=loc.username,
                    password=loc.password,
                    database=database or "default",
                    secure=loc.secure,
                    autogenerate_session_id=False,
                )
        except Exception as exc:  # driver errors, network errors from the HTTP layer, engine start failures
            # (a database that does not exist means the engine opened: not a directory held elsewhere)
            if loc.embedded and loc.path and "UNKNOWN_DATABASE" not in str(exc) and data_dir_in_use(loc.path):
                raise StoreInUse(
                    f"{loc.describe()} is in use by another process (e.g. `agentmortem serve`): the embedded "
                    "engine allows one process per data directory; stop that process, use the HTTP API it "
                    "serves, or point AGENTMORTEM_CLICKHOUSE_URL at a ClickHouse server"
                ) from exc
            if isinstance(exc, ClickHouseError):
                raise StoreError(f"cannot connect to {loc.describe()}: {exc}") from exc
            hint = ""
            if loc.embedded:
                hint = (
                    " (the embedded engine allows one process per data directory: stop the other"
                    " agentmortem process using it, or point to a ClickHouse server)"
                )
            raise StoreError(f"cannot open {loc.describe()}: {exc}{hint}") from exc
        with self._lock:
            self._clients.append(client)
        return client

    def _client(self) -> Client:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._connect(self.database)
            self._local.client = client
        return client

    def _discard_client(self) -> None:
        # After a failed statement a chDB client may replay the old error on the next
        # call; a fresh client on the same engine does not, so drop the old one.
        client = getattr(self._local, "client", None)
        self._local.client = None
        if client is not None:
            with self._lock:
                if client in self._clients:
                    self._clients.remove(client)
            try:
                client.close()
            except Exception:  # closing a broken client is best effort
                pass

    def _ensure_database(self) -> None:
        if self.database == "default":
            return
        bootstrap = self._connect(None)
        try:
            bootstrap.command(f"CREATE DATABASE IF NOT EXISTS {quote_identifier(self.database)}")
        except ClickHouseError as exc:
            raise StoreError(f"cannot create database {self.database!r}: {exc}") from exc

    # -- operations ------------------------------------------------------------
    @contextlib.contextmanager
    def _driver_errors(self, what: str) -> Iterator[None]:
        """Turn any driver failure into `StoreError` and drop the client that saw it."""
        try:
            yield
        except StoreError:
            self._discard_client()
            raise
        except ClickHouseError as exc:
            self._discard_client()
            raise classify(str(exc)) from exc
        except Exception as exc:  # serialisation or transport failure inside the driver
            self._discard_client()
            raise StoreError(f"{what} failed: {exc}") from exc

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> list[tuple]:
        """Rows of a parameterised SELECT (`{name:Type}` placeholders)."""
        with self._driver_errors("query"):
            return self._client().query(sql, parameters=parameters or {}).result_rows

    def query_dicts(self, sql: str, parameters: dict[str, Any] | None = None) -> list[dict]:
        """Rows of a parameterised SELECT as dicts keyed by column name."""
        with self._driver_errors("query"):
            result = self._client().query(sql, parameters=parameters or {})
        names = result.column_names
        return [dict(zip(names, row)) for row in result.result_rows]

    def query_bytes(self, sql: str, parameters: dict[str, Any] | None, fmt: str,
                    settings: dict[str, Any] | None = None) -> bytes:
        """The result of a parameterised SELECT encoded in ClickHouse output format `fmt`, unparsed:
        for results another process decodes, or that a faster parser than the driver's reads."""
        with self._driver_errors("query"):
            return self._client().raw_query(sql, parameters=parameters or {}, settings=settings or {}, fmt=fmt)

    def command(self, sql: str, parameters: dict[str, Any] | None = None) -> Any:
        """Run DDL or another statement that returns no rows."""
        with self._driver_errors("command"):
            return self._client().command(sql, parameters=parameters or {})

    def insert_columns(
        self,
        table: str,
        columns: Sequence[Sequence[Any]],
        column_names: Sequence[str],
        settings: dict[str, Any] | None = None,
    ) -> None:
        """Insert one block, column-oriented; returns once ClickHouse has written it."""
        with self._driver_errors(f"insert into {table}"):
            self._client().insert(
                table, columns, column_names=list(column_names), column_oriented=True, settings=settings or {}
            )

    def insert_formatted(self, table: str, column_names: Sequence[str], payload: bytes, fmt: str) -> None:
        """Insert a block already encoded in a ClickHouse input format (e.g. JSONColumns)."""
        with self._driver_errors(f"insert into {table}"):
            self._client().raw_insert(table, list(column_names), payload, fmt=fmt)

    def command_with_data(self, sql: str, parameters: dict[str, Any], data: bytes) -> None:
        """Run an `INSERT … FORMAT x` whose data travels as the request body (server mode)."""
        with self._driver_errors("insert"):
            self._client().command(sql, parameters=parameters, data=data)

    def ping(self) -> bool:
        """True when the database answers a trivial query."""
        try:
            return self.query("SELECT 1") == [(1,)]
        except StoreError:
            return False

    def close(self) -> None:
        """Close every client this store opened."""
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            try:
                client.close()
            except Exception:
                pass


def quote_identifier(name: str) -> str:
    """Backtick-quote an identifier from validated config (never from a request)."""
    if not name or not all(ch.isalnum() or ch in "_-" for ch in name):
        raise ValueError(f"not a safe identifier: {name!r}")
    return f"`{name}`"
