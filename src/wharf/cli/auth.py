"""`login`/`logout` and the X-Registry-Auth header, with credentials in a docker-style config.json.

The file is `$DOCKER_CONFIG/config.json` when DOCKER_CONFIG is set (so wharf and docker share
logins), else `~/.wharf/config.json`: `{"auths": {"host:5000": {"auth": base64("user:password")}}}`.
"""

from __future__ import annotations

import os
import sys

from wharf import errdefs

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from wharf.cli.flags import Args
    from wharf.client import EngineClient

DOCKER_HUB = "https://index.docker.io/v1/"


def config_path() -> str:
    base = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".wharf")
    return os.path.join(base, "config.json")


def load_config() -> dict[str, Any]:
    from wharf.client.engine import loads

    try:
        with open(config_path(), encoding="utf-8") as handle:
            data = loads(handle.read())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save_config(config: dict[str, Any]) -> None:
    import json

    path = config_path()
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    temporary = path + ".tmp"
    with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as handle:
        json.dump(config, handle, indent="\t")
    os.replace(temporary, path)


def registry_of(image: str) -> str:
    """The registry host an image reference names (docker.io's index for short names)."""
    first, sep, _ = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return DOCKER_HUB


def credentials(server: str) -> dict[str, str] | None:
    auths = load_config().get("auths") or {}
    entry = auths.get(server) or auths.get(f"https://{server}") or auths.get(f"http://{server}")
    if not entry or not entry.get("auth"):
        return None
    import base64

    user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
    return {"username": user, "password": password, "serveraddress": server}


def encode_auth(auth: dict[str, str]) -> str:
    import base64
    import json

    return base64.urlsafe_b64encode(json.dumps(auth).encode()).decode()


def auth_headers(image: str) -> dict[str, str]:
    """X-Registry-Auth for the image's registry, when we have credentials for it."""
    found = credentials(registry_of(image))
    return {"X-Registry-Auth": encode_auth(found)} if found else {}


def login(client: EngineClient, args: Args) -> int:
    server = args.args[0] if args.args else DOCKER_HUB
    username = args.username
    password = args.password
    if args.password_stdin:
        if password:
            raise errdefs.InvalidArgument("--password and --password-stdin are mutually exclusive")
        if not username:
            raise errdefs.InvalidArgument("Must provide --username with --password-stdin")
        password = sys.stdin.read().rstrip("\r\n")
    if not username:
        sys.stdout.write("Username: ")
        sys.stdout.flush()
        username = sys.stdin.readline().strip()
    if not password:
        import getpass

        password = getpass.getpass("Password: ")
    elif not args.password_stdin:
        sys.stderr.write("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n")
    if not username or not password:
        raise errdefs.InvalidArgument("Error: Non-null Username and Password Required")
    answer = client.call("POST", "/auth", body={"username": username, "password": password,
                                                "serveraddress": server}) or {}
    import base64

    config = load_config()
    config.setdefault("auths", {})[server] = {"auth": base64.b64encode(f"{username}:{password}".encode()).decode()}
    save_config(config)
    print(answer.get("Status") or "Login Succeeded")
    return 0


def logout(client: EngineClient, args: Args) -> int:
    server = args.args[0] if args.args else DOCKER_HUB
    config = load_config()
    auths = config.get("auths") or {}
    removed = [key for key in (server, f"https://{server}", f"http://{server}") if auths.pop(key, None)]
    if not removed:
        print(f"Not logged in to {server}")
        return 0
    save_config(config)
    print(f"Removing login credentials for {server}")
    return 0
