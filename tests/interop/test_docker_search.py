"""`GET /images/search` (docker search, the docker SDK's `images.search`) against a search index of
the test's own on 127.0.0.1, and its refusals side by side with the real Docker engine's."""

from __future__ import annotations

import base64
import http.server
import json
import threading
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import require_binary
from tests.fixtures.daemon import UnixHTTPConnection, WharfDaemon
from tests.fixtures.dockerd import DockerDaemon, started_dockerd
from tests.fixtures.registry import Registry, tls_registry

docker = pytest.importorskip("docker")

LONG_DESCRIPTION = "Busybox base image, with a description long enough for docker search to cut it short"
INDEX_RESULTS = [
    {"name": "busybox", "description": LONG_DESCRIPTION, "star_count": 3200, "is_official": True,
     "is_automated": False},
    {"name": "tools/busy-tools", "description": "handy tools", "star_count": 12, "is_official": False,
     "is_automated": True},
    {"name": "someone/busybody", "description": "", "star_count": 0, "is_official": False, "is_automated": False},
]


class SearchIndex:
    """A v1 search index on 127.0.0.1 over plain HTTP: `/v1/_ping`, and `/v1/search` answering
    INDEX_RESULTS whatever is asked (so that wharfd's own limit and filters are what is tested).
    It keeps the query and Authorization header of each search."""

    def __init__(self) -> None:
        self.searches: list[dict[str, Any]] = []
        index = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                url = urllib.parse.urlsplit(self.path)
                if url.path == "/v1/_ping":
                    self._answer(b"true")
                elif url.path == "/v1/search":
                    index.searches.append({"query": urllib.parse.parse_qs(url.query),
                                           "authorization": self.headers.get("Authorization")})
                    self._answer(json.dumps({"num_results": len(INDEX_RESULTS), "query": "",
                                             "results": INDEX_RESULTS}).encode())
                else:
                    self.send_error(404)

            def _answer(self, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the HTTPS ping's TLS hello lands here too: not worth a line per test

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> SearchIndex:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()

    def last_query(self) -> dict[str, list[str]]:
        assert self.searches, "the index was never asked"
        return self.searches[-1]["query"]


@pytest.fixture(scope="module")
def index() -> Iterator[SearchIndex]:
    with SearchIndex() as server:
        yield server


def _search(daemon: WharfDaemon | DockerDaemon, query: dict[str, str], headers: dict[str, str] | None = None
            ) -> tuple[int, Any]:
    conn = UnixHTTPConnection(daemon.socket)
    try:
        conn.request("GET", "/v1.41/images/search?" + urllib.parse.urlencode(query), headers=headers or {})
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def test_docker_search_lists_what_the_index_found(wharf: WharfDaemon, index: SearchIndex) -> None:
    result = wharf.docker("search", f"{index.address}/busy", check=True)
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["NAME", "DESCRIPTION", "STARS"]
    names = [line.split()[0] for line in lines[1:]]
    assert names == ["busybox", "tools/busy-tools", "someone/busybody"]
    assert "[OK]" in lines[1]
    assert LONG_DESCRIPTION not in result.stdout  # cut short without --no-trunc
    assert index.last_query() == {"q": ["busy"], "n": ["25"]}


def test_limit_and_filters(wharf: WharfDaemon, index: SearchIndex) -> None:
    term = f"{index.address}/busy"
    listed = wharf.docker("search", "--limit", "2", "--format", "{{.Name}}", term, check=True)
    assert listed.stdout.split() == ["busybox", "tools/busy-tools"]
    assert index.last_query() == {"q": ["busy"], "n": ["2"]}

    starred = wharf.docker("search", "--filter", "stars=10", "--format", "{{.Name}}", term, check=True)
    assert starred.stdout.split() == ["busybox", "tools/busy-tools"]
    most = wharf.docker("search", "--filter", "stars=10", "--filter", "stars=1000", "--format", "{{.Name}}", term,
                        check=True)
    assert most.stdout.split() == ["busybox"]

    official = wharf.docker("search", "--filter", "is-official=true", "--format", "{{.Name}}", term, check=True)
    assert official.stdout.split() == ["busybox"]
    others = wharf.docker("search", "--filter", "is-official=false", "--format", "{{.Name}}", term, check=True)
    assert others.stdout.split() == ["tools/busy-tools", "someone/busybody"]

    asked = len(index.searches)
    automated = wharf.docker("search", "--filter", "is-automated=true", "--format", "{{.Name}}", term, check=True)
    assert automated.stdout.split() == []
    assert len(index.searches) == asked  # automated builds are gone: nobody is asked


def test_no_trunc_and_format_show_the_whole_result(wharf: WharfDaemon, index: SearchIndex) -> None:
    result = wharf.docker("search", "--no-trunc", "--format", "{{.Name}}|{{.Description}}|{{.StarCount}}|"
                          "{{.IsOfficial}}", f"{index.address}/busybox")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:2] == [f"busybox|{LONG_DESCRIPTION}|3200|[OK]", "tools/busy-tools|handy tools|12|"]
    assert index.last_query() == {"q": ["busybox"], "n": ["25"]}


def test_the_query_is_escaped_and_auth_sent(wharf: WharfDaemon, index: SearchIndex) -> None:
    credentials = base64.urlsafe_b64encode(json.dumps({"username": "finder", "password": "s3cret"}).encode())
    status, body = _search(wharf, {"term": f"{index.address}/some one+more", "limit": "3"},
                           {"X-Registry-Auth": credentials.decode()})
    assert status == 200, body
    assert index.last_query() == {"q": ["some one+more"], "n": ["3"]}
    assert index.searches[-1]["authorization"] == "Basic " + base64.b64encode(b"finder:s3cret").decode()
    assert body[0] == {"star_count": 3200, "is_official": True, "name": "busybox", "is_automated": False,
                       "description": LONG_DESCRIPTION}


def test_sdk_search(wharf: WharfDaemon, index: SearchIndex) -> None:
    client = docker.DockerClient(base_url=wharf.host, version="1.41")
    try:
        results = client.images.search(f"{index.address}/busy", limit=1)
    finally:
        client.close()
    assert [result["name"] for result in results] == ["busybox"]
    assert index.last_query() == {"q": ["busy"], "n": ["1"]}


def test_an_index_nobody_serves_is_refused_naming_both_attempts(wharf: WharfDaemon) -> None:
    status, body = _search(wharf, {"term": "127.0.0.1:1/busy"})
    assert status == 400, body
    assert body["message"].startswith('invalid registry endpoint "http://127.0.0.1:1/v1/". HTTPS attempt: ')
    assert "HTTP attempt: " in body["message"]


@pytest.fixture(scope="module")
def tls_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    require_binary("docker-registry")
    with tls_registry(tmp_path_factory.mktemp("search-tls-registry"), "searcher", "pa55") as server:
        yield server


def test_an_index_over_https_is_asked_over_https(wharf: WharfDaemon, tls_index: Registry) -> None:
    # The HTTPS ping passes (a loopback index's certificate is not checked), so the search goes
    # there too: docker-registry has no v1 search, whence its 404, and no plain-HTTP attempt.
    status, body = _search(wharf, {"term": f"{tls_index.address}/busybox"})
    assert (status, body) == (500, {"message": "Unexpected status code 404"})


# ---- side by side with Docker 20.10 -------------------------------------------------------------


@pytest.fixture(scope="module")
def dockerd() -> Iterator[DockerDaemon]:
    require_binary("docker")
    with started_dockerd(busybox=False) as daemon:
        yield daemon


# The term names Docker Hub, but each request is refused before any index is asked.
REFUSED = {
    "limit below the range": {"term": "busybox", "limit": "0"},
    "limit above the range": {"term": "busybox", "limit": "101"},
    "unknown filter": {"term": "busybox", "filters": json.dumps({"popular": {"true": True}})},
    "is-official not a boolean": {"term": "busybox", "filters": json.dumps({"is-official": {"maybe": True}})},
    "is-automated not a boolean": {"term": "busybox", "filters": json.dumps({"is-automated": {"maybe": True}})},
    "stars not a number": {"term": "busybox", "filters": json.dumps({"stars": {"many": True}})},
}


@pytest.mark.parametrize("query", REFUSED.values(), ids=REFUSED.keys())
def test_refusals_say_what_docker_says(wharf: WharfDaemon, dockerd: DockerDaemon, query: dict[str, str]) -> None:
    wharf_status, wharf_body = _search(wharf, query)
    docker_status, docker_body = _search(dockerd, query)
    assert wharf_status == docker_status == 400, (wharf_body, docker_body)
    # Docker 20.10 capitalises its messages ("Limit 0 …", "Invalid filter …") where moby now does
    # not; moby now also adds the parse error after "invalid filter 'stars=many'".
    assert wharf_body["message"].lower().startswith(docker_body["message"].lower()), (wharf_body, docker_body)


def test_a_term_with_a_scheme_is_refused(wharf: WharfDaemon, dockerd: DockerDaemon) -> None:
    wharf_status, wharf_body = _search(wharf, {"term": "http://127.0.0.1:1/busy"})
    docker_status, docker_body = _search(dockerd, {"term": "http://127.0.0.1:1/busy"})
    assert wharf_status == 400
    assert wharf_body["message"] == ("invalid repository name: repository name (http://127.0.0.1:1/busy) should "
                                     "not have a scheme")
    # Docker 20.10 refuses it too, in older words and as a 500; moby ≥ 23 answers as wharfd does.
    assert docker_status == 500
    assert docker_body["message"].lower().startswith("invalid repository name")


def test_a_registry_without_search_is_an_unexpected_404(wharf: WharfDaemon, dockerd: DockerDaemon,
                                                         registry: Registry) -> None:
    query = {"term": f"{registry.address}/busybox"}
    wharf_status, wharf_body = _search(wharf, query)
    docker_status, docker_body = _search(dockerd, query)
    assert wharf_status == docker_status == 500, (wharf_body, docker_body)
    assert "Unexpected status code 404" in wharf_body["message"]
    assert "Unexpected status code 404" in docker_body["message"]
