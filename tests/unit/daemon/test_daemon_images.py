"""Images: import, list, inspect, tag, delete."""

import hashlib
import json

from .harness import Harness, run


def test_import_makes_a_tagged_image_with_the_changes() -> None:
    async def scenario(h: Harness) -> None:
        image_id = await h.import_image("busybox:latest", ('CMD ["sh"]', "ENV A=1", "WORKDIR /tmp"))
        assert image_id.startswith("sha256:")
        config = h.supervisor.content.blobs[image_id]
        assert image_id == "sha256:" + hashlib.sha256(config).hexdigest()
        parsed = json.loads(config)
        assert parsed["architecture"] == "amd64" and parsed["os"] == "linux"
        assert parsed["config"]["Cmd"] == ["sh"]
        assert parsed["config"]["Env"] == ["A=1"]
        # The layer is stored uncompressed: its digest is the diff id.
        diff_id = parsed["rootfs"]["diff_ids"][0]
        assert diff_id in h.supervisor.content.blobs
        assert (await h.supervisor.images.get("docker.io/library/busybox:latest")).target.digest

        status, images, _ = await h.request("GET", "/images/json")
        assert status == 200 and len(images) == 1
        assert images[0]["Id"] == image_id and images[0]["RepoTags"] == ["busybox:latest"]
        status, inspect, _ = await h.request("GET", "/images/busybox/json")
        assert status == 200
        assert inspect["Id"] == image_id
        assert inspect["Config"]["Cmd"] == ["sh"] and inspect["Config"]["WorkingDir"] == "/tmp"
        assert inspect["RootFS"] == {"Type": "layers", "Layers": [diff_id]}
        assert inspect["Os"] == "linux"
        # By id, short id and full name too.
        for ref in (image_id, image_id[7:19], "docker.io/library/busybox:latest"):
            status, body, _ = await h.request("GET", f"/images/{ref}/json")
            assert status == 200 and body["Id"] == image_id, ref

    run(scenario)


def test_missing_image_and_bad_reference() -> None:
    async def scenario(h: Harness) -> None:
        status, body, _ = await h.request("GET", "/images/nosuchimage:1/json")
        assert status == 404 and body["message"] == "No such image: nosuchimage:1"
        status, body, _ = await h.request("POST", "/images/create?fromImage=busybox&tag=latest")
        assert status == 404 and "pull access denied for busybox" in body["message"]

    run(scenario)


def test_tag_and_delete() -> None:
    async def scenario(h: Harness) -> None:
        image_id = await h.import_image()
        status, _, _ = await h.request("POST", "/images/busybox/tag?repo=example.com/me/box&tag=v1")
        assert status == 201
        status, images, _ = await h.request("GET", "/images/json")
        assert sorted(images[0]["RepoTags"]) == ["busybox:latest", "example.com/me/box:v1"]
        status, report, _ = await h.request("DELETE", "/images/busybox")
        assert status == 200 and report == [{"Untagged": "busybox:latest"}]
        # In use by a container: refused unless forced.
        status, created, _ = await h.request("POST", "/containers/create", {"Image": "example.com/me/box:v1",
                                                                          "Cmd": ["echo"]})
        assert status == 201
        status, body, _ = await h.request("DELETE", "/images/example.com/me/box:v1")
        assert status == 409 and "is using its referenced image" in body["message"]
        await h.request("DELETE", f"/containers/{created['Id']}")
        status, report, _ = await h.request("DELETE", "/images/example.com/me/box:v1")
        assert status == 200
        assert report == [{"Untagged": "example.com/me/box:v1"}, {"Deleted": image_id}]
        assert image_id not in h.supervisor.content.blobs
        status, images, _ = await h.request("GET", "/images/json")
        assert images == []

    run(scenario)
