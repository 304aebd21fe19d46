"""Request bodies read as Go's encoding/json reads them into moby's structs.

Go matches an object's keys to struct fields without regard to case ("detachKeys" fills
DetachKeys, "hostconfig" fills HostConfig), and clients rely on it: the docker SDK sends
`detachKeys`, hand-written scripts send `image`. Bodies are rewritten to the canonical field
names before a handler reads them. Keys of map fields (Labels, ExposedPorts, Sysctls, …) are the
user's data and keep their case.
"""

from __future__ import annotations

from typing import Any

# The fields of moby's request types (container.Config, HostConfig, Resources, mount.Mount,
# network.EndpointSettings, ExecOptions, network and volume create, registry.AuthConfig, …).
_STRUCT_FIELDS = """
Hostname Domainname User AttachStdin AttachStdout AttachStderr ExposedPorts Tty OpenStdin StdinOnce
Env Cmd Healthcheck ArgsEscaped Image Volumes WorkingDir Entrypoint NetworkDisabled MacAddress
OnBuild Labels StopSignal StopTimeout Shell HostConfig NetworkingConfig EndpointsConfig
Test Interval Timeout Retries StartPeriod StartInterval
Binds ContainerIDFile LogConfig Type Config NetworkMode PortBindings HostIp HostPort RestartPolicy
Name MaximumRetryCount AutoRemove VolumeDriver VolumesFrom ConsoleSize Annotations CapAdd CapDrop
CgroupnsMode Dns DnsOptions DnsSearch ExtraHosts GroupAdd IpcMode Cgroup Links OomScoreAdj PidMode
Privileged PublishAllPorts ReadonlyRootfs SecurityOpt StorageOpt Tmpfs UTSMode UsernsMode ShmSize
Sysctls Runtime Isolation MaskedPaths ReadonlyPaths Init Mounts
CpuShares Memory NanoCpus CgroupParent BlkioWeight BlkioWeightDevice BlkioDeviceReadBps
BlkioDeviceWriteBps BlkioDeviceReadIOps BlkioDeviceWriteIOps CpuPeriod CpuQuota CpuRealtimePeriod
CpuRealtimeRuntime CpusetCpus CpusetMems Devices DeviceCgroupRules DeviceRequests KernelMemory
KernelMemoryTCP MemoryReservation MemorySwap MemorySwappiness OomKillDisable PidsLimit Ulimits
CpuCount CpuPercent IOMaximumIOps IOMaximumBandwidth
Path Weight Rate PathOnHost PathInContainer CgroupPermissions Driver Count DeviceIDs Capabilities
Options Soft Hard
Source Target ReadOnly Consistency BindOptions VolumeOptions TmpfsOptions ImageOptions ClusterOptions
Propagation NonRecursive CreateMountpoint ReadOnlyNonRecursive ReadOnlyForceRecursive NoCopy Subpath
DriverConfig SizeBytes Mode
IPAMConfig IPv4Address IPv6Address LinkLocalIPs Aliases DriverOpts GwPriority NetworkID EndpointID
Gateway IPAddress IPPrefixLen IPv6Gateway GlobalIPv6Address GlobalIPv6PrefixLen DNSNames
DetachKeys Detach Privileged
CheckDuplicate Scope EnableIPv4 EnableIPv6 IPAM Internal Attachable Ingress ConfigOnly ConfigFrom
Network Subnet IPRange AuxiliaryAddresses Container EndpointConfig Force
ClusterVolumeSpec
username password auth email serveraddress identitytoken registrytoken
"""

_FIELD_NAMES = frozenset(_STRUCT_FIELDS.split())
_CANONICAL = {name.lower(): name for name in _FIELD_NAMES}

# Fields whose value is a map: its keys are data. The values of these two are structs again.
_MAPS_OF_DATA = frozenset("""
ExposedPorts Volumes Labels StorageOpt Tmpfs Sysctls Annotations DriverOpts Options
AuxiliaryAddresses
""".split())
_MAPS_OF_STRUCTS = frozenset({"EndpointsConfig", "PortBindings"})


def canonical_keys(value: Any) -> Any:
    """`value` with every struct field named as moby names it; later duplicates win, as in Go."""
    if isinstance(value, list):
        return [canonical_keys(item) for item in value]
    if not isinstance(value, dict):
        return value
    result: dict[str, Any] = {}
    for key, item in value.items():
        name = key if key in _FIELD_NAMES else _CANONICAL.get(key.lower(), key)
        if name == "Config" and isinstance(item, dict):
            # LogConfig.Config is a map of options; IPAM's Config is a list of structs.
            result[name] = item
        elif name in _MAPS_OF_DATA:
            result[name] = item
        elif name in _MAPS_OF_STRUCTS and isinstance(item, dict):
            result[name] = {entry: canonical_keys(settings) for entry, settings in item.items()}
        else:
            result[name] = canonical_keys(item)
    return result
