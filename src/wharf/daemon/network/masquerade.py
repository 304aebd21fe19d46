"""One MASQUERADE rule per bridge network, as Docker does, instead of CNI's `ipMasq` per container.

CNI's bridge plugin with `ipMasq` makes a NAT chain per container (9 iptables runs on ADD, 6 on
DEL: about 50 ms of every `docker run` on a bridge). Docker instead adds one rule per network
when the network is created, `-s <subnet> ! -o <bridge> -j MASQUERADE`, and the containers'
traffic leaving the host through another interface is masqueraded by it. Wharf does the same in
its own chain, `WHARF-POSTROUTING` (jumped to from `POSTROUTING`), so it never touches Docker's
or CNI's chains and runs beside another engine. Internal networks get no rule (no way out).

The chain and the jump are shared by every Wharf daemon of the host and never removed (like
Docker's chains); a network's rule is removed with its bridge device.
"""

from __future__ import annotations

import ipaddress
import subprocess

from wharf import errdefs

CHAIN = "WHARF-POSTROUTING"


def _iptables(subnet: str) -> str:
    return "ip6tables" if ipaddress.ip_network(subnet, strict=False).version == 6 else "iptables"


def _run(binary: str, *args: str) -> subprocess.CompletedProcess[str]:
    # -w: wait for the xtables lock; other engines and CNI plugins change the table too.
    return subprocess.run([binary, "-w", "-t", "nat", *args], capture_output=True, text=True)


def rule(subnet: str, bridge: str) -> list[str]:
    """The rule's specification (after `-A CHAIN`)."""
    network = str(ipaddress.ip_network(subnet, strict=False))
    return ["-s", network, "!", "-o", bridge, "-m", "comment", "--comment", f"wharf masquerade {bridge}",
            "-j", "MASQUERADE"]


def _ensure_chain(binary: str) -> None:
    if _run(binary, "-n", "-L", CHAIN).returncode != 0:
        made = _run(binary, "-N", CHAIN)
        if made.returncode != 0 and "exists" not in made.stderr:
            raise errdefs.System(f"cannot create chain {CHAIN}: {made.stderr.strip()}")
    if _run(binary, "-C", "POSTROUTING", "-j", CHAIN).returncode != 0:
        jumped = _run(binary, "-A", "POSTROUTING", "-j", CHAIN)
        if jumped.returncode != 0:
            raise errdefs.System(f"cannot jump to {CHAIN}: {jumped.stderr.strip()}")


def ensure(subnet: str, bridge: str) -> None:
    """Install the network's rule unless it is there already (daemon start, network create)."""
    binary = _iptables(subnet)
    spec = rule(subnet, bridge)
    if _run(binary, "-C", CHAIN, *spec).returncode == 0:
        return
    _ensure_chain(binary)
    added = _run(binary, "-A", CHAIN, *spec)
    if added.returncode != 0:
        raise errdefs.System(f"cannot add the masquerade rule of {bridge}: {added.stderr.strip()}")


def remove(subnet: str, bridge: str) -> None:
    """Remove the network's rule (network removal, daemon shutdown); absent is fine."""
    binary = _iptables(subnet)
    spec = rule(subnet, bridge)
    # -C first: -D of a rule that is not there fails noisily, and a racing daemon may add it twice.
    while _run(binary, "-C", CHAIN, *spec).returncode == 0:
        if _run(binary, "-D", CHAIN, *spec).returncode != 0:
            break
