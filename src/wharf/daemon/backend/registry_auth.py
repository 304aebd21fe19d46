"""`X-Registry-Auth`: base64url JSON credentials the client sends with pull and push."""

from __future__ import annotations

import base64
import binascii
import json

from wharf import errdefs
from wharf.containerd.core.distribution import RegistryAuth


def decode_registry_auth(header: str | None) -> RegistryAuth:
    """Docker's clients send `{"username","password","serveraddress"}` or `{"identitytoken"}`,
    base64url (padded or not); an empty or `{}` header means anonymous."""
    if not header:
        return RegistryAuth()
    text = header.strip()
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        data = json.loads(raw or b"{}")
    except (binascii.Error, ValueError) as err:
        raise errdefs.InvalidArgument(f"invalid X-Registry-Auth header: {err}") from err
    if not isinstance(data, dict):
        raise errdefs.InvalidArgument("invalid X-Registry-Auth header: not a JSON object")
    data = {str(key).lower(): value for key, value in data.items()}  # Go matches field names without case
    return RegistryAuth(
        username=str(data.get("username") or ""),
        password=str(data.get("password") or ""),
        identity_token=str(data.get("identitytoken") or ""),
        registry_token=str(data.get("registrytoken") or ""),
    )
