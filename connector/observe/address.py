"""Where ``leadsync run --http`` listens: ``HOST:PORT``, ``[IPv6]:PORT``, or a port on loopback.

Loopback (``127.0.0.1``) unless an address says otherwise: serving the endpoints beyond the
machine (``0.0.0.0:9464`` in a container, for Prometheus and the kubelet's probes) is a choice
written out in full, never a default, and it needs a token (``leadsync.observe.access``).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

__all__ = ["DEFAULT_PORT", "ListenAddress", "parse_listen"]

DEFAULT_PORT = 9464  # the port the README and the deployment files use; only named in messages
_HOST_PORT = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9.-]+)):(?P<port>\d+)$")


@dataclass(frozen=True)
class ListenAddress:
    """A host (an IP address or a name) and a TCP port; port 0 takes any free one."""

    host: str
    port: int

    @property
    def loopback(self) -> bool:
        """Whether only this machine can connect."""
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @property
    def ipv6(self) -> bool:
        return ":" in self.host

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if self.ipv6 else f"{self.host}:{self.port}"


def parse_listen(text: str | int) -> ListenAddress:
    """``127.0.0.1:9464``, ``[::1]:9464``, ``0.0.0.0:9464`` or ``9464`` (on 127.0.0.1).

    Raise ``ValueError`` saying what to write instead.
    """
    value = str(text).strip()
    if value.isdigit():
        return ListenAddress("127.0.0.1", _port(value))
    match = _HOST_PORT.match(value)
    if not match:
        raise ValueError(
            f"`{value}` is not an address to listen on; write HOST:PORT, e.g. 127.0.0.1:{DEFAULT_PORT} "
            f"(this machine only) or 0.0.0.0:{DEFAULT_PORT} (every interface)"
        )
    host = match.group("v6") or match.group("host")
    if match.group("v6"):
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError(f"`{host}` is not an IPv6 address") from None
    return ListenAddress(host, _port(match.group("port")))


def _port(text: str) -> int:
    port = int(text)
    if port > 65535:
        raise ValueError(f"port {port} is out of range; use 1-65535 (or 0 for any free port)")
    return port
