"""Docker's container Config: normalising what clients send and merging in the image's config."""

from __future__ import annotations

import random
from typing import Any

from wharf import errdefs
from wharf.daemon.ocispec import MASKED_PATHS, READONLY_PATHS

# Keys of a container Config that are always present in `docker inspect` (null when unset).
_CONFIG_DEFAULTS: dict[str, Any] = {
    "Hostname": "", "Domainname": "", "User": "", "AttachStdin": False, "AttachStdout": False,
    "AttachStderr": False, "Tty": False, "OpenStdin": False, "StdinOnce": False, "Env": None,
    "Cmd": None, "Image": "", "Volumes": None, "WorkingDir": "", "Entrypoint": None, "OnBuild": None,
    "Labels": {},
}  # fmt: skip

_HOST_CONFIG_DEFAULTS: dict[str, Any] = {
    "Binds": None, "ContainerIDFile": "", "LogConfig": {"Type": "json-file", "Config": {}},
    "NetworkMode": "bridge", "PortBindings": {}, "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0},
    "AutoRemove": False, "VolumeDriver": "", "VolumesFrom": None, "CapAdd": None, "CapDrop": None,
    "CgroupnsMode": "host", "Dns": [], "DnsOptions": [], "DnsSearch": [], "ExtraHosts": None,
    "GroupAdd": None, "IpcMode": "private", "Cgroup": "", "Links": None, "OomScoreAdj": 0, "PidMode": "",
    "Privileged": False, "PublishAllPorts": False, "ReadonlyRootfs": False, "SecurityOpt": None,
    "UTSMode": "", "UsernsMode": "", "ShmSize": 67108864, "Runtime": "runc", "Isolation": "",
    "CpuShares": 0, "Memory": 0, "NanoCpus": 0, "CgroupParent": "", "BlkioWeight": 0,
    "BlkioWeightDevice": [], "BlkioDeviceReadBps": [], "BlkioDeviceWriteBps": [],
    "BlkioDeviceReadIOps": [], "BlkioDeviceWriteIOps": [], "CpuPeriod": 0, "CpuQuota": 0,
    "CpuRealtimePeriod": 0, "CpuRealtimeRuntime": 0, "CpusetCpus": "", "CpusetMems": "", "Devices": [],
    "DeviceCgroupRules": None, "DeviceRequests": None, "MemoryReservation": 0, "MemorySwap": 0,
    "MemorySwappiness": None, "OomKillDisable": None, "PidsLimit": None, "Ulimits": [], "CpuCount": 0,
    "CpuPercent": 0, "IOMaximumIOps": 0, "IOMaximumBandwidth": 0, "MaskedPaths": None, "ReadonlyPaths": None,
}  # fmt: skip


# The fields of moby's HostConfig (with its embedded Resources). moby's create body embeds a
# HostConfig besides the Config too, for clients older than the `HostConfig` key: its fields may
# stand at the top level (the docker SDK still sends `Runtime` there).
HOST_CONFIG_FIELDS = frozenset("""
Binds ContainerIDFile LogConfig NetworkMode PortBindings RestartPolicy AutoRemove VolumeDriver
VolumesFrom ConsoleSize Annotations CapAdd CapDrop CgroupnsMode Dns DnsOptions DnsSearch ExtraHosts
GroupAdd IpcMode Cgroup Links OomScoreAdj PidMode Privileged PublishAllPorts ReadonlyRootfs
SecurityOpt StorageOpt Tmpfs UTSMode UsernsMode ShmSize Sysctls Runtime Isolation Mounts MaskedPaths
ReadonlyPaths Init CpuShares Memory NanoCpus CgroupParent BlkioWeight BlkioWeightDevice
BlkioDeviceReadBps BlkioDeviceWriteBps BlkioDeviceReadIOps BlkioDeviceWriteIOps CpuPeriod CpuQuota
CpuRealtimePeriod CpuRealtimeRuntime CpusetCpus CpusetMems Devices DeviceCgroupRules DeviceRequests
KernelMemory KernelMemoryTCP MemoryReservation MemorySwap MemorySwappiness OomKillDisable PidsLimit
Ulimits CpuCount CpuPercent IOMaximumIOps IOMaximumBandwidth
""".split())
_TOP_LEVEL_OVER_EMPTY = ("Memory", "MemorySwap", "CpuShares", "CpusetCpus", "VolumeDriver")
"""With a `HostConfig` given, these top-level fields still fill its unset ones (as moby does)."""


def split_create_body(body: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(Config, HostConfig) from a `POST /containers/create` body (Config fields at the top level;
    HostConfig fields too, from older clients, when no `HostConfig` is given)."""
    if not isinstance(body, dict):
        raise errdefs.InvalidArgument("invalid JSON: the body must be a JSON object")
    config = {k: v for k, v in body.items()
              if k not in ("HostConfig", "NetworkingConfig") and k not in HOST_CONFIG_FIELDS}
    top_level = {k: v for k, v in body.items() if k in HOST_CONFIG_FIELDS}
    host_config = body.get("HostConfig")
    if host_config is None:
        host_config = top_level
    elif not isinstance(host_config, dict):
        raise errdefs.InvalidArgument("invalid JSON: HostConfig must be an object")
    else:
        host_config = dict(host_config)
        for key in _TOP_LEVEL_OVER_EMPTY:
            if top_level.get(key) and not host_config.get(key):
                host_config[key] = top_level[key]
    for key in ("Env", "Cmd", "Entrypoint"):
        value = config.get(key)
        if isinstance(value, str):
            config[key] = [value]  # Docker accepts a string as a one-element list
        elif value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise errdefs.InvalidArgument(f"invalid JSON: {key} must be a list of strings")
    return config, host_config


def normalise_host_config(host_config: dict[str, Any], runtime: str) -> dict[str, Any]:
    out = dict(_HOST_CONFIG_DEFAULTS)
    out["Runtime"] = runtime
    out.update({k: v for k, v in host_config.items() if v is not None or k not in out})
    # The CLI sends -1 and 0 for "not set"; Docker stores (and shows) them as null.
    if out.get("MemorySwappiness") == -1:
        out["MemorySwappiness"] = None
    if isinstance(out.get("PidsLimit"), int) and out["PidsLimit"] <= 0:
        out["PidsLimit"] = None
    if out.get("NetworkMode") in ("", "default", None):
        out["NetworkMode"] = "bridge"
    if not out.get("ShmSize"):
        out["ShmSize"] = 67108864
    if not out.get("RestartPolicy") or not out["RestartPolicy"].get("Name"):
        out["RestartPolicy"] = {"Name": "no", "MaximumRetryCount": 0}
    if not out["Privileged"]:
        # Stored, as Docker stores them, so that inspect shows what the container gets.
        if out["MaskedPaths"] is None:
            out["MaskedPaths"] = list(MASKED_PATHS)
        if out["ReadonlyPaths"] is None:
            out["ReadonlyPaths"] = list(READONLY_PATHS)
    if not out.get("LogConfig") or not out["LogConfig"].get("Type"):
        # The CLI sends `--log-opt`s with an empty Type: keep them for the default driver.
        given = out.get("LogConfig") if isinstance(out.get("LogConfig"), dict) else {}
        out["LogConfig"] = {"Type": "json-file", "Config": dict(given.get("Config") or {})}
    return out


def merge_image_config(config: dict[str, Any], image_config: dict[str, Any]) -> dict[str, Any]:
    """The container's config with the image's defaults filled in, as the Docker engine merges them."""
    out = dict(_CONFIG_DEFAULTS)
    out.update({k: v for k, v in config.items() if v is not None or k not in out})
    if not out.get("User"):
        out["User"] = image_config.get("User", "")
    if image_config.get("ExposedPorts"):
        ports = dict(image_config["ExposedPorts"])
        ports.update(out.get("ExposedPorts") or {})
        out["ExposedPorts"] = ports
    env = list(out.get("Env") or [])
    keys = {entry.split("=", 1)[0] for entry in env}
    env += [entry for entry in image_config.get("Env") or [] if entry.split("=", 1)[0] not in keys]
    # Docker takes the image's value (null when it has none) for an empty Env or Volumes.
    out["Env"] = env or image_config.get("Env")
    labels = dict(image_config.get("Labels") or {})
    labels.update(out.get("Labels") or {})
    out["Labels"] = labels
    if not out.get("Entrypoint"):
        if not out.get("Cmd"):
            out["Cmd"] = image_config.get("Cmd")
            if image_config.get("ArgsEscaped"):
                out["ArgsEscaped"] = True
        if out.get("Entrypoint") is None:
            out["Entrypoint"] = image_config.get("Entrypoint")
    if not out.get("WorkingDir"):
        out["WorkingDir"] = image_config.get("WorkingDir", "")
    if image_config.get("Volumes"):
        volumes = dict(image_config["Volumes"])
        volumes.update(out.get("Volumes") or {})
        out["Volumes"] = volumes
    elif not out.get("Volumes"):
        out["Volumes"] = image_config.get("Volumes")
    if not out.get("StopSignal") and image_config.get("StopSignal"):
        out["StopSignal"] = image_config["StopSignal"]
    if not out.get("Healthcheck") and image_config.get("Healthcheck"):
        out["Healthcheck"] = image_config["Healthcheck"]
    if not out.get("OnBuild"):
        out["OnBuild"] = image_config.get("OnBuild")
    return out


def command_of(config: dict[str, Any]) -> tuple[str, list[str]]:
    """(Path, Args): Entrypoint followed by Cmd. InvalidArgument when there is nothing to run."""
    entrypoint = [part for part in config.get("Entrypoint") or []]
    if entrypoint == [""]:
        entrypoint = []
    command = entrypoint + list(config.get("Cmd") or [])
    if not command:
        raise errdefs.InvalidArgument("no command specified")
    return command[0], command[1:]


_ADJECTIVES = """
admiring adoring affectionate agitated amazing angry awesome beautiful blissful bold boring brave
busy charming clever compassionate competent condescending confident cool cranky crazy dazzling
determined distracted dreamy eager ecstatic elastic elated elegant eloquent epic exciting fervent
festive flamboyant focused friendly frosty funny gallant gifted goofy gracious great happy hardcore
heuristic hopeful hungry infallible inspiring intelligent interesting jolly jovial keen kind
laughing loving lucid magical modest musing mystifying naughty nervous nice nifty nostalgic
objective optimistic peaceful pedantic pensive practical priceless quirky quizzical recursing
relaxed reverent romantic sad serene sharp silly sleepy stoic strange stupefied suspicious sweet
tender thirsty trusting unruffled upbeat vibrant vigilant vigorous wizardly wonderful xenodochial
youthful zealous zen
""".split()
_NAMES = """
agnesi albattani allen archimedes ardinghelli aryabhata austin babbage banach bardeen bartik
bassi beaver bell benz bhabha bhaskara black blackburn blackwell bohr booth borg bose bouman
boyd brahmagupta brattain brown buck burnell cannon carson cartwright carver cerf chandrasekhar
chaplygin chatelet chatterjee chaum chebyshev clarke cohen colden cori cray curie curran darwin
davinci dewdney dhawan diffie dijkstra dirac driscoll dubinsky easley edison einstein elbakyan
elgamal elion ellis engelbart euclid euler faraday feistel fermat fermi feynman franklin
gagarin galileo galois ganguly gates gauss germain goldberg goldstine goldwasser golick goodall
gould greider grothendieck haibt hamilton haslett hawking heisenberg hellman hermann herschel
hertz heyrovsky hodgkin hofstadter hoover hopper hugle hypatia ishizaka jackson jang jemison
jennings jepsen johnson joliot jones kalam kapitsa kare keldysh keller kepler khayyam khorana
kilby kirch knuth kowalevski lalande lamarr lamport leakey leavitt lederberg lehmann lewin
lichterman liskov lovelace lumiere mahavira margulis matsumoto maxwell mayer mccarthy mcclintock
mclaren mclean mcnulty meitner mendel mendeleev meninsky merkle mestorf mirzakhani montalcini
moore morse moser murdock napier nash neumann newton nightingale nobel noether northcutt noyce
panini pare pascal pasteur payne perlman pike poincare poitras proskuriakova ptolemy raman
ramanujan rhodes ride ritchie robinson roentgen rosalind rubin saha sammet sanderson satoshi
shamir shannon shaw shirley shockley shtern sinoussi snyder solomon spence stonebraker sutherland
swanson swartz swirles taussig tesla tharp thompson torvalds tu turing varahamihira vaughan
villani visvesvaraya volhard wescoff wilbur wiles williams williamson wilson wing wozniak wright
wu yalow yonath zhukovsky zuse
""".split()


def random_name() -> str:
    """Docker-style `adjective_scientist` names."""
    return f"{random.choice(_ADJECTIVES)}_{random.choice(_NAMES)}"
