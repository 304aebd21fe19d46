"""Bad input gets Docker's error shape and status, and the daemon keeps serving."""

import json

import pytest

from tests.fixtures.daemon import WharfDaemon

JSON = {"Content-Type": "application/json"}


def _message(body: bytes) -> str:
    return json.loads(body)["message"]


@pytest.mark.parametrize(
    "body",
    [b"{not json", b'{"Image": "busybox", "Cmd": ', b"[1, 2, 3]", b'"a string"', b"\xff\xfe\x00"],
)
def test_malformed_json_body_is_a_400(wharf: WharfDaemon, body: bytes) -> None:
    status, answer = wharf.request("POST", "/containers/create", body=body, headers=JSON)
    assert status == 400, answer
    assert _message(answer)
    assert wharf.ping()


def test_invalid_image_reference_is_a_400(wharf: WharfDaemon) -> None:
    body = json.dumps({"Image": "Not A/Valid:ref"}).encode()
    status, answer = wharf.request("POST", "/containers/create", body=body, headers=JSON)
    assert status == 400, answer
    assert "invalid reference format" in _message(answer)


def test_unknown_image_is_a_404(wharf: WharfDaemon) -> None:
    body = json.dumps({"Image": "nosuchimage:1"}).encode()
    status, answer = wharf.request("POST", "/containers/create", body=body, headers=JSON)
    assert status == 404, answer
    assert _message(answer) == "No such image: nosuchimage:1"
    status, answer = wharf.request("GET", "/images/nosuchimage:1/json")
    assert status == 404, answer
    assert _message(answer) == "No such image: nosuchimage:1"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/containers/{}/json"),
        ("POST", "/containers/{}/start"),
        ("POST", "/containers/{}/stop"),
        ("POST", "/containers/{}/kill"),
        ("POST", "/containers/{}/wait"),
        ("GET", "/containers/{}/logs?stdout=1"),
        ("DELETE", "/containers/{}"),
    ],
)
def test_unknown_container_is_a_404(wharf: WharfDaemon, method: str, path: str) -> None:
    status, answer = wharf.request(method, path.format("0123456789abcdef-nope"))
    assert status == 404, answer
    assert _message(answer) == "No such container: 0123456789abcdef-nope"


def test_api_version_out_of_range(wharf: WharfDaemon) -> None:
    status, answer = wharf.request("GET", "/v1.99/version")
    assert status == 400
    assert "too new" in _message(answer)
    status, answer = wharf.request("GET", "/v1.12/version")
    assert status == 400
    assert "too old" in _message(answer)
    status, _ = wharf.request("GET", "/v1.41/version")
    assert status == 200


def test_ping_headers(wharf: WharfDaemon) -> None:
    from tests.fixtures.daemon import UnixHTTPConnection

    conn = UnixHTTPConnection(wharf.socket)
    conn.request("GET", "/_ping")
    response = conn.getresponse()
    assert response.read() == b"OK"
    assert response.getheader("Api-Version") == "1.51"
    assert response.getheader("Ostype") == "linux"
    assert response.getheader("Docker-Experimental") == "false"
    conn.close()


def test_bad_container_name_is_a_400(wharf: WharfDaemon) -> None:
    body = json.dumps({"Image": "busybox"}).encode()
    status, answer = wharf.request("POST", "/containers/create?name=-bad/name", body=body, headers=JSON)
    assert status == 400, answer
    assert "Invalid container name" in _message(answer)
