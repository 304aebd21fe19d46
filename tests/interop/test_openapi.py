"""The OpenAPI document wharfd serves at /_wharf/openapi.json matches what it answers: every route
of the app's router table is documented, and every documented operation is routed (never the
router's 404 "page not found" or a 405) on a real wharfd."""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import tempfile
import uuid
from collections.abc import Iterator

import pytest

from tests.fixtures.daemon import UnixHTTPConnection, WharfDaemon

DOCUMENT_PATH = "/_wharf/openapi.json"
METHODS = ("get", "head", "post", "put", "delete")


def _normalise(path: str) -> str:
    """`/containers/{name}/json`, `/images/{name:.+}/json` → `/containers/{}/json`, `/images/{}/json`."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def _documented(document: dict) -> set[tuple[str, str]]:
    return {(method.upper(), _normalise(path)) for path, item in document["paths"].items()
            for method in item if method in METHODS}


def _app_routes() -> set[tuple[str, str]]:
    """The real Daemon's router table (over the unit tests' fake supervisor, with networks and
    volumes), without the /v1.NN duplicates."""
    from tests.unit.daemon.fake_supervisor import FakeSupervisor
    from wharf.daemon.main import Daemon

    async def build() -> set[tuple[str, str]]:
        with tempfile.TemporaryDirectory(prefix="wt-oa-") as data_root, \
                tempfile.TemporaryDirectory(prefix="wt-oa-") as exec_root:
            daemon = Daemon(FakeSupervisor(data_root), data_root, "wharf-runc", f"/wt-oa-{uuid.uuid4().hex[:6]}",
                            exec_root=exec_root, bridge="wtoa0")
            out = set()
            for route in daemon.app.router.routes():
                info = route.resource.get_info() if route.resource else {}
                path = info.get("formatter") or info.get("path") or ""
                if "{api_version" in path:
                    continue
                out.add((route.method, _normalise(path)))
            return out

    return asyncio.run(build())


@pytest.fixture(scope="module")
def document(wharf: WharfDaemon) -> dict:
    status, body = wharf.request("GET", DOCUMENT_PATH)
    assert status == 200
    return json.loads(body)


def test_document_is_openapi_3(document: dict) -> None:
    assert document["openapi"].startswith("3.")
    assert document["info"]["version"] == "1.51"
    for item in document["paths"].values():
        for method, operation in item.items():
            assert method in METHODS and operation["responses"] and operation["operationId"]


def test_every_route_is_documented_and_nothing_else(document: dict) -> None:
    routes = _app_routes()
    documented = _documented(document)
    assert routes - documented == set(), "routes missing from the document"
    assert documented - routes == set(), "documented operations wharfd does not route"


@pytest.fixture(scope="module")
def objects(wharf: WharfDaemon) -> Iterator[dict[str, str]]:
    """Real objects for the path parameters, so a 404 can only mean "no such route"."""
    tag = uuid.uuid4().hex[:8]
    running = wharf.docker("run", "-d", "--name", f"oa-run-{tag}", "busybox", "sleep", "300", check=True)
    exited = wharf.docker("run", "-d", "--name", f"oa-exited-{tag}", "busybox", "true", check=True)
    wharf.docker("wait", f"oa-exited-{tag}", check=True)
    exec_id = json.loads(wharf.request(
        "POST", f"/containers/oa-run-{tag}/exec", body=b'{"Cmd": ["true"]}',
        headers={"Content-Type": "application/json"})[1])["Id"]
    wharf.docker("network", "create", f"oa-net-{tag}", check=True)
    wharf.docker("volume", "create", f"oa-vol-{tag}", check=True)
    wharf.docker("tag", "busybox", f"oa-img-{tag}", check=True)
    yield {"running": running.stdout.strip(), "exited": exited.stdout.strip(), "exec": exec_id,
           "network": f"oa-net-{tag}", "volume": f"oa-vol-{tag}", "image": f"oa-img-{tag}"}
    for name in (f"oa-run-{tag}", f"oa-exited-{tag}"):
        wharf.docker("rm", "-f", name)
    wharf.docker("network", "rm", f"oa-net-{tag}")
    wharf.docker("volume", "rm", "-f", f"oa-vol-{tag}")
    wharf.docker("rmi", f"oa-img-{tag}")


def _concrete(path: str, method: str, objects: dict[str, str]) -> str:
    if path.startswith("/containers/{id}"):
        # Verbs that would block or hijack on a running container use the exited one.
        running_ok = any(path.endswith(s) for s in ("/top", "/exec", "/pause", "/unpause", "/stats", "/update"))
        path = path.replace("{id}", objects["running" if running_ok else "exited"])
    path = path.replace("/exec/{id}", "/exec/" + objects["exec"])
    path = path.replace("/networks/{id}", "/networks/" + objects["network"])
    path = path.replace("/volumes/{name}", "/volumes/" + objects["volume"])
    path = path.replace("/images/{name}", "/images/" + objects["image"])
    # A registry on a port nothing listens on: the resolve is refused at once, and no traffic leaves 127/8.
    path = path.replace("/distribution/{name}", "/distribution/127.0.0.1:1/oa-missing")
    return re.sub(r"\{[^}]*\}", "oa-missing", path)  # objects wharfd never has (swarm's)


QUERIES = {"/rename": "?name=oa-renamed-" + uuid.uuid4().hex[:8], "/archive": "?path=/etc",
           "/stats": "?stream=0", "/logs": "?stdout=1", "/events": "?until=1", "/commit": ""}


def _order(item: tuple[str, str]) -> int:
    # Deletes last (they remove the objects the others use).
    return {"DELETE": 2, "POST": 1}.get(item[0], 0)


def test_every_documented_operation_is_routed(wharf: WharfDaemon, document: dict, objects: dict[str, str]) -> None:
    operations = sorted(((method.upper(), path) for path, item in document["paths"].items()
                         for method in item if method in METHODS), key=_order)
    unrouted = []
    for method, path in operations:
        streaming = document["paths"][path][method.lower()].get("x-streaming")
        concrete = _concrete(path, method, objects)
        concrete += next((query for suffix, query in QUERIES.items() if path.endswith(suffix)), "")
        if method == "POST" and path.endswith("/commit"):
            concrete += f"?container={objects['exited']}"
        connection = UnixHTTPConnection(wharf.socket, timeout=5 if streaming else 30)
        try:
            connection.request(method, "/v1.51" + concrete, body=b"{}" if method in ("POST", "PUT") else None,
                               headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            status = response.status
            body = b"" if method == "HEAD" or status == 101 or streaming else response.read()
        except (TimeoutError, http.client.HTTPException) as err:
            assert streaming, f"{method} {path}: {err}"
            continue
        finally:
            connection.close()
        if status == 405 or (status == 404 and b"page not found" in body) or (status == 404 and method == "HEAD"
                                                                              and path.endswith("/json")):
            unrouted.append((method, path, status))
    assert unrouted == []
    assert wharf.ping()
