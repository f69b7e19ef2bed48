"""Downloading the MNIST files from a list of mirrors, verified by checksum.

Sources are tried in order -- ``DATA_MIRROR`` first when it is set, then the mirrors from
``params.yaml`` -- each up to ``retries`` times. A file counts as fetched only when the
SHA-256 of its *decompressed* content matches, so a mirror that recompressed the same data
is still accepted and anything else is not. Downloads go to a temporary file that is renamed
into place only after verification.

Every read is bounded. A local source is read only if it is a regular file: a FIFO (whose
opening waits for a writer) or a device such as ``/dev/zero`` is refused before any read.
An HTTP attempt has a deadline, from connecting to the last byte, headers included. Every
byte is counted as it streams: a source may send at most ``max_file_bytes``, and the gzip
content may expand to at most as many, so an endless HTTP body or a decompression bomb
stops at the limit instead of filling the disk or memory.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.client
import logging
import math
import os
import re
import socket
import stat
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from tqdm import tqdm

from mnist_mlp.core.params import param
from mnist_mlp.errors import FetchError, reason
from mnist_mlp.io.files import Readable, atomic_path, file_kind

log = logging.getLogger(__name__)

MIRROR_ENV = "DATA_MIRROR"
_CHUNK_BYTES = 2**16
# Larger than any MNIST file (47 MB decompressed); params.yaml sets fetch.max_file_bytes.
DEFAULT_MAX_FILE_BYTES = 100_000_000
# Local errors that a retry of the same source cannot fix.
_PERMANENT_OS_ERRORS = (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError)


class RefusedError(FetchError):
    """A source holds what no retry changes: more than the byte limit (sent, or once
    decompressed), or not a regular file. Never retried."""


def is_sha256(value: str) -> bool:
    return re.fullmatch(r"[0-9a-f]{64}", value) is not None


def is_file_name(value: str) -> bool:
    """A plain file name: no directory part, no NUL (which no file system accepts)."""
    return value not in ("", ".", "..") and "/" not in value and "\0" not in value


def is_http_url(value: str) -> bool:
    """An ``http://`` or ``https://`` URL with a host (a mirror in params, or DATA_MIRROR)."""
    try:
        parts = urllib.parse.urlsplit(value)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # such as an unclosed IPv6 bracket: "http://[::1"
        return False


def positive(value: float) -> bool:
    return value > 0


@dataclass(frozen=True)
class FileSpec:
    """One file to fetch: its name at every source and the SHA-256 of its content."""

    name: str = param("a plain file name (no '/', not '', '.' or '..', no NUL)", is_file_name)
    sha256: str = param("64 lowercase hex digits (the decompressed content's SHA-256)", is_sha256)


@dataclass(frozen=True)
class FetchParams:
    """The ``fetch`` section of ``params.yaml``: where the files come from and how long to try."""

    mirrors: tuple[str, ...] = param(
        "a list of http:// or https:// URL prefixes", lambda v: all(map(is_http_url, v))
    )
    files: tuple[FileSpec, ...] = param(
        "a non-empty list of {name: <file name>, sha256: <64 lowercase hex digits>}", bool
    )
    # Finite: sockets and sleeps overflow on .inf.
    timeout: float = param("finite seconds > 0", lambda v: 0 < v < math.inf)
    attempt_seconds: float = param("seconds > 0", positive)
    retries: int = param("an int >= 1", positive)
    retry_delay: float = param("finite seconds >= 0", lambda v: 0 <= v < math.inf)
    max_file_bytes: int = param("an int > 0: the most bytes one file may have", positive)


def sources(mirrors: Sequence[str], env_mirror: str | None) -> list[str]:
    """The ordered list of sources: ``env_mirror`` (when set) before ``mirrors``."""
    return ([env_mirror] if env_mirror else []) + list(mirrors)


def _counted(chunks: Iterable[bytes], max_bytes: int, what: str) -> Iterable[bytes]:
    """Pass ``chunks`` through, raising RefusedError once they add up to over ``max_bytes``."""
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > max_bytes:
            raise RefusedError(f"{what} more than {max_bytes} bytes (fetch.max_file_bytes)")
        yield chunk


def _chunks(stream: Readable) -> Iterable[bytes]:
    while chunk := stream.read(_CHUNK_BYTES):
        yield chunk


def decompressed_sha256(
    path: str | os.PathLike[str], max_bytes: int = DEFAULT_MAX_FILE_BYTES
) -> str:
    """SHA-256 hex digest of the decompressed content of a gzip file.

    Raises
    ------
    FetchError
        If the file is not a complete gzip stream (an empty file is none); RefusedError if
        it decompresses to more than ``max_bytes``.
    """
    # gzip reads an empty file as no data at all, whose SHA-256 would be reported.
    if os.path.getsize(path) == 0:
        raise FetchError("not a complete gzip file (an empty file)")
    digest = hashlib.sha256()
    try:
        with gzip.open(path, "rb") as stream:
            for chunk in _counted(_chunks(stream), max_bytes, "decompresses to"):
                digest.update(chunk)
    except (OSError, EOFError, zlib.error) as exc:
        raise FetchError(f"not a complete gzip file ({exc})") from None
    return digest.hexdigest()


class _WatchedConnection(http.client.HTTPConnection):
    """An HTTP connection that hands its socket to ``watch`` as soon as it is connected."""

    watch: Callable[[socket.socket], None]

    def connect(self) -> None:
        super().connect()
        self.watch(self.sock)


class _WatchedTLSConnection(http.client.HTTPSConnection, _WatchedConnection):
    """The same for HTTPS: its ``connect`` calls the one above before the TLS handshake."""


class _WatchedHandler(urllib.request.HTTPHandler, urllib.request.HTTPSHandler):
    """Opens http:// and https:// URLs, redirects included, through watched connections."""

    def __init__(self, watch: Callable[[socket.socket], None]) -> None:
        super().__init__()
        self.watch = watch

    def _watched(self, kind: type[_WatchedConnection]) -> Callable[..., _WatchedConnection]:
        def connection(host: str, **kwargs: Any) -> _WatchedConnection:
            watched = kind(host, **kwargs)
            watched.watch = self.watch
            return watched

        return connection

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self._watched(_WatchedConnection), req)

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self._watched(_WatchedTLSConnection), req)


def _shut_down(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # closed by the server already
        sock.shutdown(socket.SHUT_RDWR)


class _Deadline:
    """Ends the connections of one download attempt when its ``seconds`` are up.

    A socket timeout bounds each wait, not their sum: a server that sends its status line,
    headers or body a byte at a time, each in time, holds a read open as long as it likes.
    At the deadline a timer thread shuts every connection of the attempt down, which ends
    any read blocked on it, and leaving the block raises TimeoutError.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self.opener = urllib.request.build_opener(_WatchedHandler(self._watch))
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)

    def _watch(self, sock: socket.socket) -> None:
        with self._lock:
            # A duplicate, which still reaches the connection once TLS wraps the socket.
            self._sockets.append(sock.dup())
            if self.expired:
                _shut_down(self._sockets[-1])

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut_down(sock)

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._timer.cancel()
        with self._lock:
            for sock in self._sockets:
                sock.close()
        # Whatever the shutdown caused (no status line, a body cut short), this is why.
        if self.expired and (exc is None or isinstance(exc, Exception)):
            raise TimeoutError(f"download took longer than {self.seconds} s") from None


def _download(
    url: str, target: Path, timeout: float, attempt_seconds: float, max_bytes: int, label: str
) -> None:
    """Stream ``url`` to ``target`` with a progress bar.

    ``timeout`` bounds every socket wait and ``attempt_seconds`` the whole attempt, from
    connecting to the last byte (:class:`_Deadline`); ``max_bytes`` bounds what is
    written, whatever the server announced. A body shorter than its ``Content-Length``
    is reported as cut off.
    """
    request = urllib.request.Request(url, headers={"User-Agent": "mnist-mlp"})
    with (
        _Deadline(attempt_seconds) as deadline,
        deadline.opener.open(request, timeout=timeout) as response,
    ):
        size = response.headers.get("Content-Length")
        announced = int(size) if size and size.isdigit() else None
        if announced is not None and announced > max_bytes:
            raise RefusedError(
                f"announces {size} bytes, more than {max_bytes} (fetch.max_file_bytes)"
            )
        with (
            target.open("wb") as out,
            tqdm(
                total=announced, unit="B", unit_scale=True, desc=label, leave=False, disable=None
            ) as bar,
        ):
            # read1 returns what has arrived instead of waiting for a whole chunk.
            arrived = iter(lambda: response.read1(_CHUNK_BYTES), b"")
            for chunk in _counted(arrived, max_bytes, "sent"):
                out.write(chunk)
                bar.update(len(chunk))
            received = out.tell()
        if announced is not None and received < announced:
            raise FetchError(f"cut off after {received} of the {announced} bytes announced")


def _copy_local(source: Path, target: Path, max_bytes: int) -> None:
    """Copy the regular file ``source`` to ``target`` in chunks, at most ``max_bytes`` of it.

    Not ``shutil.copyfile``: given a device such as ``/dev/zero`` it would never stop. Any
    file but a regular one is refused before a read; it is opened without waiting
    (``O_NONBLOCK``, which a regular file ignores), since opening a FIFO waits for a writer.
    """
    with open(os.open(source, os.O_RDONLY | os.O_NONBLOCK), "rb") as stream:
        mode = os.fstat(stream.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise RefusedError(f"{source} is {file_kind(mode)}, not a regular file")
        with target.open("wb") as out:
            for chunk in _counted(_chunks(stream), max_bytes, "holds"):
                out.write(chunk)


def _copy_once(
    source: str, name: str, target: Path, timeout: float, attempt_seconds: float, max_bytes: int
) -> None:
    if is_http_url(source):
        url = source.rstrip("/") + "/" + name
        _download(url, target, timeout, attempt_seconds, max_bytes, name)
    else:
        _copy_local(Path(source) / name, target, max_bytes)


def _is_permanent(exc: Exception) -> bool:
    """Errors that a retry of the same source cannot fix: the file is not there, too big,
    or not a regular file."""
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code < 500
    return isinstance(exc, (*_PERMANENT_OS_ERRORS, RefusedError))


def fetch_file(
    name: str,
    sha256: str,
    source_list: Sequence[str],
    destination: str | os.PathLike[str],
    *,
    timeout: float = 30.0,
    attempt_seconds: float = 600.0,
    retries: int = 3,
    retry_delay: float = 1.0,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
) -> Path:
    """Fetch ``name`` from the first source that serves it with the expected checksum.

    Parameters
    ----------
    name : str
        File name, appended to each source (a directory or an http(s) URL prefix).
    sha256 : str
        Expected SHA-256 of the decompressed content.
    source_list : sequence of str
        Sources in the order they are tried.
    destination : path-like
        Directory the verified file is written to.
    timeout : float
        Seconds any single network wait may take before the attempt is abandoned.
    attempt_seconds : float
        Seconds a whole download attempt may take.
    retries : int
        Attempts per source for transient failures (timeouts, resets, 5xx).
    retry_delay : float
        Seconds before the first retry; doubled after each further failure.
    max_file_bytes : int
        Most bytes a source may send, and the gzip content may expand to.

    Returns
    -------
    Path of the verified file, ``destination / name``.
    """
    target = Path(destination) / name
    failures = []
    for source in source_list:
        for attempt in range(1, retries + 1):
            try:
                with atomic_path(target) as tmp:
                    _copy_once(source, name, tmp, timeout, attempt_seconds, max_file_bytes)
                    found = decompressed_sha256(tmp, max_file_bytes)
                    if found != sha256:
                        raise FetchError(f"SHA-256 of decompressed content is {found}")
                log.info("%s: verified, from %s", name, source)
                return target
            # URLError, HTTPError and timeouts are OSErrors; a cut-off body is an HTTPException.
            except (OSError, http.client.HTTPException, FetchError) as exc:
                why = reason(exc)
                log.warning("%s from %s (attempt %d/%d): %s", name, source, attempt, retries, why)
                if _is_permanent(exc) or attempt == retries:
                    failures.append(f"{source}: {why}")
                    break
                time.sleep(retry_delay * 2 ** (attempt - 1))
    tried = "; ".join(failures) if failures else "no sources configured"
    raise FetchError(f"{name}: no source served it with SHA-256 {sha256} ({tried})")
