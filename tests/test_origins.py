"""Which browser origins may connect (issue 16, item 14): full origins for production,
as deploy/ names them; ``self`` only matches the Host header, whatever the scheme."""

from __future__ import annotations

from urllib.parse import urlsplit

import yaml

from meeple.lobby.edge.origins import origin_allowed
from tests.servers import ROOT


def test_full_origins_need_the_scheme_host_and_port_to_match() -> None:
    allowed = ("https://games.example.com",)
    assert origin_allowed("https://games.example.com", "anything", allowed)
    for origin in ("http://games.example.com", "https://games.example.com:8443",
                   "https://evil.example"):  # fmt: skip
        assert not origin_allowed(origin, "games.example.com", allowed)


def test_self_trusts_the_host_header_which_is_why_production_names_origins() -> None:
    # A page on a name that resolves to this server (DNS rebinding) sends a Host that
    # matches its own Origin, and the scheme is not compared: both pass "self".
    assert origin_allowed("http://rebound.evil:8000", "rebound.evil:8000", ("self",))
    assert origin_allowed("http://games.example.com", "games.example.com", ("self",))
    assert not origin_allowed("http://rebound.evil:8000", "rebound.evil:8000",
                              ("https://games.example.com",))  # fmt: skip


def test_deploy_names_its_public_origin_in_full() -> None:
    compose = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text())
    origins = compose["x-server"]["environment"]["MEEPLE_ORIGINS"]
    default = origins.split(":-", 1)[1].rstrip("}") if ":-" in origins else origins
    entries = [o.strip() for o in default.split(",")]
    assert "self" not in entries and "*" not in entries and "localhost" not in entries
    for entry in entries:
        parts = urlsplit(entry)
        assert parts.scheme == "https" and parts.hostname and not parts.path, entry
