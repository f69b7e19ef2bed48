"""The fetch core against a real HTTP server on 127.0.0.1 serving generated files."""

from __future__ import annotations

import gzip
import hashlib
import logging
import random
import re
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mnist_mlp.errors import FetchError
from mnist_mlp.io.fetch import decompressed_sha256, fetch_file, sources
from tests.helpers import serving

NAME = "train-labels-idx1-ubyte.gz"
CONTENT = random.Random(0).randbytes(20_000)
GOOD = gzip.compress(CONTENT, mtime=0)
SHA256 = hashlib.sha256(CONTENT).hexdigest()

Route = Callable[[BaseHTTPRequestHandler], None]


def serve(body: bytes, status: int = 200, length: int | None = None) -> Route:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Content-Length", str(len(body) if length is None else length))
        handler.end_headers()
        handler.wfile.write(body)

    return respond


def hang(seconds: float) -> Route:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)

    return respond


def reset_connection(handler: BaseHTTPRequestHandler) -> None:
    """Close the socket with SO_LINGER 0: the client sees a TCP reset, not a clean close."""
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.connection.close()


def trickle(body: bytes, seconds_per_byte: float, limit_seconds: float) -> Route:
    """Send the body one byte at a time, each in time for the client's socket timeout."""

    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        started = time.monotonic()
        for byte in body:
            if time.monotonic() - started > limit_seconds:
                return
            try:
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
            except OSError:  # the client hung up
                return
            time.sleep(seconds_per_byte)

    return respond


def trickle_head(seconds_per_byte: float, limit_seconds: float, hung_up: threading.Event) -> Route:
    """Send the status line and a long header a byte at a time, each in time for the
    client's socket timeout, for at most ``limit_seconds``; set ``hung_up`` if the client
    closes the connection first."""
    head = b"HTTP/1.0 200 OK\r\nX-Slow: " + b"." * 1000 + b"\r\n\r\n"

    def respond(handler: BaseHTTPRequestHandler) -> None:
        started = time.monotonic()
        for byte in head:
            if time.monotonic() - started > limit_seconds:
                return
            try:
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
            except OSError:
                hung_up.set()
                return
            time.sleep(seconds_per_byte)

    return respond


def redirect(location: str) -> Route:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(302)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return respond


class Server:
    """Routes ``/<mirror>/<name>`` to a response; anything unrouted is a 404."""

    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hits.append(self.path)
                server.routes.get(self.path, serve(b"not found", status=404))(self)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def mirror(self, prefix: str, response: Route) -> str:
        self.routes[f"/{prefix}/{NAME}"] = response
        return f"{self.url}/{prefix}/"


@pytest.fixture
def server() -> Iterator[Server]:
    server = Server()
    with serving(server.httpd):
        yield server


def fetch(source_list: list[str], destination: Path, **kwargs: float) -> Path:
    options = {"timeout": 2.0, "retries": 2, "retry_delay": 0.0} | kwargs
    return fetch_file(NAME, SHA256, source_list, destination, **options)


def assert_no_partial_files(directory: Path) -> None:
    leftovers = [p.name for p in directory.iterdir() if p.name != NAME]
    assert leftovers == []


def test_downloads_and_verifies(server: Server, tmp_path: Path) -> None:
    path = fetch([server.mirror("a", serve(GOOD))], tmp_path)
    assert path == tmp_path / NAME
    assert path.read_bytes() == GOOD
    assert_no_partial_files(tmp_path)


def test_checksum_is_of_decompressed_content(server: Server, tmp_path: Path) -> None:
    """A mirror that recompressed the same data (other gzip bytes) is still accepted."""
    recompressed = gzip.compress(CONTENT, compresslevel=1, mtime=12345)
    assert recompressed != GOOD
    assert fetch([server.mirror("a", serve(recompressed))], tmp_path).read_bytes() == recompressed


def test_checksum_mismatch_falls_back_to_next_mirror(server: Server, tmp_path: Path) -> None:
    wrong = gzip.compress(b"a different file", mtime=0)
    source_list = [server.mirror("wrong", serve(wrong)), server.mirror("good", serve(GOOD))]
    assert fetch(source_list, tmp_path).read_bytes() == GOOD
    assert server.hits == [f"/wrong/{NAME}"] * 2 + [f"/good/{NAME}"]


def test_404_is_not_retried_and_falls_back(server: Server, tmp_path: Path) -> None:
    source_list = [f"{server.url}/missing/", server.mirror("good", serve(GOOD))]
    assert fetch(source_list, tmp_path).read_bytes() == GOOD
    assert server.hits == [f"/missing/{NAME}", f"/good/{NAME}"]


def test_server_error_is_retried(server: Server, tmp_path: Path) -> None:
    responses = iter([serve(b"busy", status=500), serve(GOOD)])
    server.routes[f"/flaky/{NAME}"] = lambda handler: next(responses)(handler)
    assert fetch([f"{server.url}/flaky/"], tmp_path).read_bytes() == GOOD
    assert server.hits == [f"/flaky/{NAME}"] * 2


def test_truncated_download_fails_and_leaves_nothing(server: Server, tmp_path: Path) -> None:
    truncated = serve(GOOD[: len(GOOD) // 2], length=len(GOOD))
    with pytest.raises(FetchError, match=f"{NAME}: no source served it") as caught:
        fetch([server.mirror("cut", truncated)], tmp_path)
    assert "\n" not in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_hanging_server_times_out(server: Server, tmp_path: Path) -> None:
    # The server answers after 3 s: only the 0.3 s timeout makes this fail, as "timed out".
    with pytest.raises(FetchError, match="timed out"):
        fetch([server.mirror("slow", hang(3.0))], tmp_path, timeout=0.3, retries=1)
    assert list(tmp_path.iterdir()) == []


def test_all_sources_failing_names_each(server: Server, tmp_path: Path) -> None:
    source_list = [f"{server.url}/x/", str(tmp_path / "no-such-dir")]
    (tmp_path / "out").mkdir()
    with pytest.raises(FetchError) as caught:
        fetch(source_list, tmp_path / "out")
    message = str(caught.value)
    assert SHA256 in message and f"{server.url}/x/: HTTP Error 404" in message
    assert "no-such-dir" in message


def test_local_directory_source(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / NAME).write_bytes(GOOD)
    (tmp_path / "out").mkdir()
    assert fetch([str(mirror)], tmp_path / "out").read_bytes() == GOOD


def test_env_mirror_comes_first() -> None:
    assert sources(["https://a/", "https://b/"], "/data") == ["/data", "https://a/", "https://b/"]
    assert sources(["https://a/"], None) == ["https://a/"]
    assert sources(["https://a/"], "") == ["https://a/"]


def test_non_gzip_download_is_rejected(server: Server, tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.WARNING)
    with pytest.raises(FetchError):
        fetch([server.mirror("plain", serve(CONTENT))], tmp_path, retries=1)
    assert "not a complete gzip file" in caplog.text


def test_decompressed_sha256(tmp_path: Path) -> None:
    path = tmp_path / "f.gz"
    path.write_bytes(GOOD)
    assert decompressed_sha256(path) == SHA256


def test_connection_reset_is_retried(server: Server, tmp_path: Path) -> None:
    responses = iter([reset_connection, serve(GOOD)])
    server.routes[f"/reset/{NAME}"] = lambda handler: next(responses)(handler)
    assert fetch([f"{server.url}/reset/"], tmp_path).read_bytes() == GOOD
    assert server.hits == [f"/reset/{NAME}"] * 2


def test_connection_reset_every_time_fails_clearly(server: Server, tmp_path: Path) -> None:
    with pytest.raises(FetchError, match=r"no source served it .*reset") as caught:
        fetch([server.mirror("reset", reset_connection)], tmp_path)
    assert "\n" not in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_redirect_is_followed(server: Server, tmp_path: Path) -> None:
    server.routes[f"/moved/{NAME}"] = redirect(f"/new-home/{NAME}")
    server.routes[f"/new-home/{NAME}"] = serve(GOOD)
    assert fetch([f"{server.url}/moved/"], tmp_path).read_bytes() == GOOD


def test_redirect_loop_fails_clearly(server: Server, tmp_path: Path) -> None:
    server.routes[f"/loop/{NAME}"] = redirect(f"/loop/{NAME}")
    with pytest.raises(FetchError, match="redirect"):
        fetch([f"{server.url}/loop/"], tmp_path, retries=1)
    assert list(tmp_path.iterdir()) == []


def test_different_file_under_the_right_name_is_rejected(server: Server, tmp_path: Path) -> None:
    """A valid gzip of other content (another dataset's file) never passes as ours."""
    impostor = gzip.compress(random.Random(1).randbytes(20_000), mtime=0)
    with pytest.raises(FetchError, match=f"{NAME}: no source served it with SHA-256 {SHA256}"):
        fetch([server.mirror("impostor", serve(impostor))], tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_trickling_server_is_cut_off_by_the_attempt_deadline(
    server: Server, tmp_path: Path
) -> None:
    # Each byte comes within the 1 s timeout: only the attempt deadline can cut it off.
    slow = trickle(GOOD, seconds_per_byte=0.05, limit_seconds=5.0)
    with pytest.raises(FetchError, match="download took longer than 0.5 s"):
        fetch(
            [server.mirror("trickle", slow)], tmp_path, timeout=1.0, retries=1, attempt_seconds=0.5
        )
    assert list(tmp_path.iterdir()) == []


def test_server_trickling_its_headers_is_cut_off_by_the_attempt_deadline(
    server: Server, tmp_path: Path
) -> None:
    """Each byte of the status line and headers comes within the 2 s socket timeout: only
    a deadline on the whole attempt, headers included, stops it. The server gives up
    after 30 s, a bound only a client ignoring its deadline reaches; what is asserted is
    that the client stopped (and hung up), not how long it took."""
    hung_up = threading.Event()
    slow = trickle_head(seconds_per_byte=0.03, limit_seconds=30.0, hung_up=hung_up)
    with pytest.raises(FetchError, match=r"download took longer than 1\.0 s"):
        fetch(
            [server.mirror("slow-head", slow)],
            tmp_path,
            timeout=2.0,
            retries=1,
            attempt_seconds=1.0,
        )
    assert hung_up.wait(timeout=30.0)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("length", "message"),
    [(0, "not a complete gzip file (an empty file)"), (len(GOOD), "cut off after 0 of the")],
    ids=["empty", "cut-off"],
)
def test_an_empty_or_cut_off_download_is_reported_as_such(
    server: Server, tmp_path: Path, length: int, message: str
) -> None:
    """Not as the SHA-256 of the nothing that arrived."""
    with pytest.raises(FetchError, match=re.escape(message)) as caught:
        fetch([server.mirror("nothing", serve(b"", length=length))], tmp_path, retries=1)
    assert "SHA-256 of decompressed content" not in str(caught.value)
    assert list(tmp_path.iterdir()) == []
