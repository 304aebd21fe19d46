"""Registry authentication: anonymous, basic, and the bearer token flow of the distribution spec.

A registry answers 401 with `WWW-Authenticate: Basic realm=…` or `Bearer realm=…,service=…,scope=…`.
For Bearer we fetch a token from the realm (with basic credentials when we have them) and cache it
per scope until it expires.
"""

from __future__ import annotations

import base64
import re
import time
from dataclasses import dataclass

import aiohttp

from wharf import errdefs

_PARAM = re.compile(r'(\w+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))')


@dataclass(frozen=True)
class Credentials:
    username: str = ""
    password: str = ""
    identity_token: str = ""
    registry_token: str = ""

    @property
    def anonymous(self) -> bool:
        return not (self.username or self.identity_token or self.registry_token)


@dataclass(frozen=True)
class Challenge:
    scheme: str
    params: dict[str, str]


def parse_challenge(header: str) -> Challenge:
    scheme, _, rest = header.strip().partition(" ")
    params = {m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3) for m in _PARAM.finditer(rest)}
    return Challenge(scheme.lower(), params)


class Authorizer:
    """Keeps the Authorization header to send, per scope, for one registry host."""

    def __init__(self, session: aiohttp.ClientSession, credentials: Credentials) -> None:
        self._session = session
        self._credentials = credentials
        self._challenge: Challenge | None = None
        self._tokens: dict[str, tuple[str, float]] = {}

    def header(self, scope: str) -> str | None:
        if self._challenge is None:
            if self._credentials.registry_token:
                return f"Bearer {self._credentials.registry_token}"
            return None
        if self._challenge.scheme == "basic":
            return self._basic()
        token = self._tokens.get(scope)
        if token and token[1] > time.monotonic():
            return f"Bearer {token[0]}"
        return None

    def _basic(self) -> str | None:
        if not self._credentials.username:
            return None
        raw = f"{self._credentials.username}:{self._credentials.password}".encode()
        return "Basic " + base64.b64encode(raw).decode()

    async def answer(self, www_authenticate: str, scope: str) -> bool:
        """Handle a 401 challenge; True if a retry with new credentials makes sense."""
        challenge = parse_challenge(www_authenticate)
        first_time = self._challenge is None or self._challenge.scheme != challenge.scheme
        self._challenge = challenge
        if challenge.scheme == "basic":
            return first_time and self._basic() is not None
        if challenge.scheme != "bearer":
            raise errdefs.Unauthorized(f"unsupported authentication scheme {challenge.scheme!r}")
        if scope in self._tokens and not first_time:
            return False
        await self._fetch_token(challenge, scope)
        return True

    async def _fetch_token(self, challenge: Challenge, scope: str) -> None:
        realm = challenge.params.get("realm")
        if not realm:
            raise errdefs.Unauthorized("the registry's bearer challenge has no realm")
        params = {}
        if service := challenge.params.get("service"):
            params["service"] = service
        if scope:
            params["scope"] = scope
        headers = {}
        if self._credentials.identity_token:
            # An identity (refresh) token is exchanged with OAuth2's POST form.
            form = {"grant_type": "refresh_token", "refresh_token": self._credentials.identity_token,
                    "client_id": "wharf", **params}
            request = self._session.post(realm, data=form)
        else:
            if basic := self._basic():
                headers["Authorization"] = basic
            request = self._session.get(realm, params=params, headers=headers)
        try:
            async with request as response:
                if response.status in (401, 403):
                    raise errdefs.Unauthorized("unauthorized: incorrect username or password")
                if response.status != 200:
                    raise errdefs.Unavailable(f"token server answered {response.status}")
                body = await response.json(content_type=None)
        except aiohttp.ClientError as err:
            raise errdefs.Unavailable(f"cannot reach the token server {realm}: {err}") from err
        token = body.get("token") or body.get("access_token")
        if not token:
            raise errdefs.Unauthorized("the token server answered without a token")
        lifetime = max(int(body.get("expires_in") or 60), 60)
        self._tokens[scope] = (token, time.monotonic() + lifetime - 10)
