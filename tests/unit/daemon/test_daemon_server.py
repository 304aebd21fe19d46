"""The HTTP layer: ping, version prefix and range, common headers, error shapes."""

from wharf import errdefs
from wharf.daemon.server.httpstatus import status_of

from .harness import Harness, run


def test_status_of_each_category() -> None:
    assert status_of(errdefs.InvalidArgument("x")) == 400
    assert status_of(errdefs.NotFound("x")) == 404
    assert status_of(errdefs.AlreadyExists("x")) == 409
    assert status_of(errdefs.Conflict("x")) == 409
    assert status_of(errdefs.FailedPrecondition("x")) == 409
    assert status_of(errdefs.NotModified("x")) == 304
    assert status_of(errdefs.Unauthorized("x")) == 401
    assert status_of(errdefs.Forbidden("x")) == 403
    assert status_of(errdefs.Unavailable("x")) == 503
    assert status_of(errdefs.NotImplementedYet("x")) == 501
    assert status_of(errdefs.System("x")) == 500
    assert status_of(RuntimeError("x")) == 500


def test_ping_headers_and_body() -> None:
    async def scenario(h: Harness) -> None:
        status, body, headers = await h.request("GET", "/_ping")
        assert status == 200 and body == b"OK"
        assert headers["Api-Version"] == "1.51"
        assert headers["Ostype"] == "linux"
        assert headers["Docker-Experimental"] == "false"
        assert headers["Builder-Version"] == "1"
        assert "no-cache" in headers["Cache-Control"]
        assert headers["Server"].startswith("Wharf/")
        status, body, headers = await h.request("HEAD", "/v1.45/_ping")
        assert status == 200 and headers["Api-Version"] == "1.51"

    run(scenario)


def test_version_prefix_range() -> None:
    async def scenario(h: Harness) -> None:
        status, body, _ = await h.request("GET", "/v1.99/version")
        assert status == 400
        assert body["message"] == "client version 1.99 is too new. Maximum supported API version is 1.51"
        status, body, _ = await h.request("GET", "/v1.12/version")
        assert status == 400 and "too old" in body["message"]
        for path in ("/version", "/v1.24/version", "/v1.51/version"):
            status, body, headers = await h.request("GET", path)
            assert status == 200, path
            assert body["ApiVersion"] == "1.51" and body["MinAPIVersion"] == "1.24"
            assert body["Os"] == "linux"
            assert headers["Api-Version"] == "1.51"

    run(scenario)


def test_unknown_path_is_a_json_404() -> None:
    async def scenario(h: Harness) -> None:
        status, body, headers = await h.request("GET", "/v1.51/no/such/thing")
        assert status == 404 and body == {"message": "page not found"}
        assert headers["Api-Version"] == "1.51"

    run(scenario)


def test_info_counts() -> None:
    async def scenario(h: Harness) -> None:
        await h.import_image()
        status, body, _ = await h.request("GET", "/info")
        assert status == 200
        assert body["Images"] == 1 and body["Containers"] == 0
        assert body["OSType"] == "linux" and body["Driver"] == "overlayfs"
        assert body["Swarm"]["LocalNodeState"] == "inactive"

    run(scenario)


def test_info_fields_follow_the_api_version_asked() -> None:
    async def scenario(h: Harness) -> None:
        _, newest, _ = await h.request("GET", "/v1.51/info")
        _, at_149, _ = await h.request("GET", "/v1.49/info")
        _, at_148, _ = await h.request("GET", "/v1.48/info")
        assert "BridgeNfIptables" not in newest and "BridgeNfIp6tables" not in newest
        assert at_149["BridgeNfIptables"] is False and at_149["BridgeNfIp6tables"] is False
        for body in (newest, at_149):
            assert "AllowNondistributableArtifactsCIDRs" not in body["RegistryConfig"]
            assert "Expected" not in body["ContainerdCommit"]
        assert at_148["RegistryConfig"]["AllowNondistributableArtifactsCIDRs"] is None
        assert at_148["RuncCommit"] == {"ID": "", "Expected": ""}

    run(scenario)
