import pytest

from wharf.oci.reference import InvalidReference, parse, parse_normalized_tagged

DIGEST = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("given", "full", "familiar"),
    [
        ("busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("busybox:1.36", "docker.io/library/busybox:1.36", "busybox:1.36"),
        ("library/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("index.docker.io/library/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
        ("user/app", "docker.io/user/app:latest", "user/app:latest"),
        ("127.0.0.1:5000/app:v1", "127.0.0.1:5000/app:v1", "127.0.0.1:5000/app:v1"),
        ("localhost/app", "localhost/app:latest", "localhost/app:latest"),
        ("Registry.Example:5000/a/b", "Registry.Example:5000/a/b:latest", "Registry.Example:5000/a/b:latest"),
        (f"busybox@{DIGEST}", f"docker.io/library/busybox@{DIGEST}", f"busybox@{DIGEST}"),
        (f"busybox:1@{DIGEST}", f"docker.io/library/busybox:1@{DIGEST}", f"busybox:1@{DIGEST}"),
    ],
)
def test_references_are_normalised_like_docker(given: str, full: str, familiar: str) -> None:
    ref = parse_normalized_tagged(given)
    assert str(ref) == full
    assert ref.familiar() == familiar


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("", "invalid reference format"),
        ("busybox:", "invalid reference format"),
        ("-busybox", "invalid reference format"),
        ("busy box", "invalid reference format"),
        ("busybox@sha256:abc", "invalid reference format"),
        ("a" * 64, f"invalid repository name ({'a' * 64}), cannot specify 64-byte hexadecimal strings"),
        ("Busybox", "invalid reference format: repository name (library/Busybox) must be lowercase"),
        ("User/App:v1", "invalid reference format: repository name (App) must be lowercase"),
        ("x/" + "a" * 300, "invalid reference format: repository name must not be more than 255 characters"),
    ],
)
def test_invalid_references_get_dockers_message(given: str, message: str) -> None:
    with pytest.raises(InvalidReference) as caught:
        parse(given)
    assert str(caught.value) == message
