"""Content digests (`algorithm:hex`) as the OCI image spec defines them."""

import hashlib
import re

_DIGEST = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")
_SHA256_HEX = re.compile(r"^[a-f0-9]{64}$")


def sha256_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def validate(digest: str) -> str:
    """Return `digest` if it is a well-formed sha256 digest, else raise ValueError."""
    if not _DIGEST.match(digest):
        raise ValueError(f"invalid digest format: {digest!r}")
    algorithm, _, hexpart = digest.partition(":")
    if algorithm != "sha256":
        raise ValueError(f"unsupported digest algorithm: {algorithm}")
    if not _SHA256_HEX.match(hexpart):
        raise ValueError(f"invalid checksum digest length or characters: {digest!r}")
    return digest


def hex_of(digest: str) -> str:
    return validate(digest).partition(":")[2]
