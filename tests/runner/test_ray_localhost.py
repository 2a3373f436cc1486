"""A local Ray started by ``--executor ray`` (no ``--address``) listens on the loopback interface only."""

from __future__ import annotations

import ipaddress

import pytest

pytest.importorskip("ray", reason="Ray is optional: pip install 'nasforge[ray]'")
psutil = pytest.importorskip("psutil", reason="psutil lists the sockets of Ray's processes")

from nasforge.executors import RayExecutor  # noqa: E402


def _listening(pids: list[int]) -> list[tuple[int, str, str, int]]:
    out = []
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            for c in proc.net_connections(kind="inet"):
                if c.status == psutil.CONN_LISTEN:
                    out.append((pid, proc.name(), c.laddr.ip, c.laddr.port))
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return out


def _is_loopback(ip: str) -> bool:
    addr = ipaddress.ip_address(ip.split("%")[0])
    mapped = getattr(addr, "ipv4_mapped", None)  # ::ffff:127.0.0.1 is loopback too
    return (mapped or addr).is_loopback


def test_local_ray_binds_every_service_to_loopback() -> None:
    import ray

    if ray.is_initialized():
        pytest.skip("a Ray started elsewhere in this process is not ours to inspect")
    with RayExecutor(1) as ex:
        assert ex.submit(pow, 2, 8).result(timeout=120) == 256  # a worker process exists and served a task
        me = psutil.Process()
        pids = [me.pid, *(p.pid for p in me.children(recursive=True))]
        sockets = _listening(pids)
    names = {name for _, name, _, _ in sockets}
    assert len(sockets) >= 3 and any("gcs" in n for n in names) and any("raylet" in n for n in names), sockets
    exposed = [s for s in sockets if not _is_loopback(s[2])]
    assert exposed == [], f"Ray services listening beyond the loopback interface: {exposed}"
    assert not ray.is_initialized()
