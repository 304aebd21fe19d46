"""Docker's image reference grammar and normalisation.

`busybox` means `docker.io/library/busybox:latest`; a reference may carry a tag, a
digest or both. The grammar follows distribution's reference package; the messages
match the Docker engine's, because clients show them to people and tests compare them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
DEFAULT_TAG = "latest"
NAME_TOTAL_LENGTH_MAX = 255

_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = rf"{_ALNUM}(?:{_SEPARATOR}{_ALNUM})*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_DOMAIN_NAME = rf"{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*"
_DOMAIN = rf"(?:{_DOMAIN_NAME}|{_IPV6})(?::[0-9]+)?"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"

_REFERENCE = re.compile(rf"^({_NAME})(?::({_TAG}))?(?:@({_DIGEST}))?$")
_ANCHORED_TAG = re.compile(rf"^{_TAG}$")
_ANCHORED_HEX64 = re.compile(r"^[a-f0-9]{64}$")


class InvalidReference(ValueError):
    """The reference does not follow the grammar; the message is Docker's."""


@dataclass(frozen=True)
class Reference:
    """A normalised reference: `domain/path[:tag][@digest]`."""

    domain: str
    path: str
    tag: str | None = None
    digest: str | None = None

    @property
    def name(self) -> str:
        """The full repository name, e.g. `docker.io/library/busybox`."""
        return f"{self.domain}/{self.path}"

    @property
    def familiar_name(self) -> str:
        """The name as people write it: `busybox`, `user/app`, `127.0.0.1:5000/app`."""
        if self.domain == DEFAULT_DOMAIN:
            path = self.path
            if path.startswith(OFFICIAL_REPO_PREFIX) and path.count("/") == 1:
                path = path[len(OFFICIAL_REPO_PREFIX):]
            return path
        return self.name

    def __str__(self) -> str:
        out = self.name
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out

    def familiar(self) -> str:
        out = self.familiar_name
        if self.tag:
            out += f":{self.tag}"
        if self.digest:
            out += f"@{self.digest}"
        return out

    def with_default_tag(self) -> Reference:
        if self.tag or self.digest:
            return self
        return Reference(self.domain, self.path, DEFAULT_TAG, None)

    def with_tag(self, tag: str) -> Reference:
        return Reference(self.domain, self.path, tag, None)


def _split_domain(name: str) -> tuple[str, str]:
    first, sep, rest = name.partition("/")
    if not sep or ("." not in first and ":" not in first and first != "localhost" and first.lower() == first):
        domain, remainder = DEFAULT_DOMAIN, name
    else:
        domain, remainder = first, rest
    if domain == LEGACY_DEFAULT_DOMAIN:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in remainder:
        remainder = OFFICIAL_REPO_PREFIX + remainder
    return domain, remainder


def parse(ref: str) -> Reference:
    """Parse and normalise a reference as `docker pull` accepts it (no default tag added)."""
    if not ref:
        raise InvalidReference("invalid reference format")
    if _ANCHORED_HEX64.match(ref):
        raise InvalidReference(
            f"invalid repository name ({ref}), cannot specify 64-byte hexadecimal strings"
        )
    match = _REFERENCE.match(ref)
    if match is None:
        if _REFERENCE.match(ref.lower()) is not None:
            name = ref.split("@", 1)[0]
            if name.rfind(":") > name.rfind("/"):
                name = name[: name.rfind(":")]
            _, remote = _split_domain(name)
            raise InvalidReference(f"invalid reference format: repository name ({remote}) must be lowercase")
        raise InvalidReference("invalid reference format")
    name, tag, digest = match.groups()
    domain, path = _split_domain(name)
    # Docker checks the length of the normalised name (`docker.io/library/…`), not of what was typed.
    if len(domain) + 1 + len(path) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidReference(
            f"invalid reference format: repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters"
        )
    if path.lower() != path:
        raise InvalidReference(f"invalid reference format: repository name ({path}) must be lowercase")
    return Reference(domain, path, tag, digest)


def parse_normalized_tagged(ref: str) -> Reference:
    """Parse and add the default tag `latest` when neither tag nor digest is given."""
    return parse(ref).with_default_tag()


def valid_tag(tag: str) -> bool:
    return bool(_ANCHORED_TAG.match(tag))
