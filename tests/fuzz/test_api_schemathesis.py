"""Schemathesis against wharfd's own OpenAPI document: a short, seeded run on a private wharfd
(served on 127.0.0.1 for the fuzzer, as schemathesis speaks TCP). Whatever it sends, wharfd must
not answer 500 (bad input is a 400) and must keep answering. `WHARF_FUZZ_EXAMPLES=N` runs longer."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis", reason="schemathesis is not installed (test extras)")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance  # noqa: E402

from tests.conftest import require_binary  # noqa: E402
from tests.fixtures.daemon import WharfDaemon  # noqa: E402
from tests.fixtures.registry import free_port  # noqa: E402

EXAMPLES = int(os.environ.get("WHARF_FUZZ_EXAMPLES", "8"))


@pytest.fixture(scope="module")
def fuzzed_daemon() -> Iterator[tuple[WharfDaemon, str]]:
    require_binary("docker")
    address = f"127.0.0.1:{free_port()}"
    daemon = WharfDaemon(extra_args=("-H", f"tcp://{address}", "--allow-insecure-tcp"))
    try:
        daemon.start()
        daemon.import_busybox()
        yield daemon, f"http://{address}"
    finally:
        daemon.stop()


DOCUMENT = Path(__file__).resolve().parents[2] / "src" / "wharf" / "api" / "engine_openapi.json"


def _fuzzed_document(base_url: str) -> dict:
    """The document wharfd serves, without the operations that stream or hijack (they never end
    on their own), talk to a registry (no internet here) or always answer 503 (swarm mode, which
    Wharf does not run: tests/interop/test_docker_swarm_absent.py checks those answers)."""
    document = json.loads(DOCUMENT.read_text())
    skipped = ("x-streaming", "x-needs-network", "x-always-unavailable")
    for path, item in list(document["paths"].items()):
        for method in list(item):
            if any(item[method].get(flag) for flag in skipped):
                del item[method]
        if not item:
            del document["paths"][path]
    document["servers"] = [{"url": "/v1.51"}]
    # Tar bodies go as opaque bytes (schemathesis has no x-tar serializer).
    raw = json.dumps(document).replace('"application/x-tar"', '"application/octet-stream"')
    document = json.loads(raw)
    # Creates name the image the daemon has, so the fuzzing reaches the HostConfig checks.
    config = document["components"]["schemas"]["ContainerConfig"]
    config["properties"]["Image"] = {"type": "string", "enum": ["busybox"]}
    config["required"] = ["Image"]
    return document


OPERATIONS = sorted(f"{method.upper()} {path}" for path, item in _fuzzed_document("http://x")["paths"].items()
                    for method in item)


def test_served_document_is_the_fuzzed_one(fuzzed_daemon: tuple[WharfDaemon, str]) -> None:
    daemon, _ = fuzzed_daemon
    status, body = daemon.request("GET", "/_wharf/openapi.json")
    assert status == 200 and json.loads(body) == json.loads(DOCUMENT.read_text())


@pytest.mark.parametrize("mode", ["positive", "negative"])
@pytest.mark.parametrize("label", OPERATIONS)
def test_no_server_errors(label: str, mode: str, fuzzed_daemon: tuple[WharfDaemon, str]) -> None:
    """Positive cases follow the document; negative ones break it (wrong types, missing fields)."""
    daemon, base_url = fuzzed_daemon
    schema = schemathesis.openapi.from_dict(_fuzzed_document(base_url))
    operation = schema.find_operation_by_label(label)
    assert operation is not None, label

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=schemathesis.GenerationMode(mode)))
    def fuzz(case) -> None:  # type: ignore[no-untyped-def]
        response = case.call(base_url=base_url + "/v1.51", timeout=30)
        checks = [not_a_server_error] + ([status_code_conformance, response_schema_conformance] if mode == "positive" else [])
        case.validate_response(response, checks=checks)

    try:
        fuzz()
    except Unsatisfiable:
        # Nothing in this operation can be made invalid (no body, no typed parameters).
        assert mode == "negative", label
    assert daemon.ping()
