"""Links to a plan's HTML report that any worker can serve, with nothing stored.

A card links to the full report of its plan, but a browser follows the link without the
EHR's credentials, and with several workers the one that answers may not be the one that
planned. So the link carries what the plan was made from (the brain map and the setting),
compressed and sealed with Fernet (AES-CBC with HMAC-SHA256, with a timestamp): whoever holds
the link can read that one report until it expires, nobody can read or forge another, and
the worker that answers re-plans (plans are deterministic) and checks the plan id.
"""

from __future__ import annotations

import zlib
from typing import Any

import orjson
from cryptography.fernet import Fernet, InvalidToken

from .brainmap import brain_map_data
from .model import BrainMap


class ReportSeal:
    """Seals and opens report links with one key."""

    def __init__(self, key: str, ttl_s: int) -> None:
        self._fernet = Fernet(key.encode())
        self._ttl_s = ttl_s

    def seal(self, brain_map: BrainMap, setting: str | None, plan_id: str) -> str:
        """The token for a link to this plan's report."""
        data = {"map": brain_map_data(brain_map), "setting": setting, "plan": plan_id}
        return self._fernet.encrypt(zlib.compress(orjson.dumps(data), 9)).decode()

    def open(self, token: str) -> dict[str, Any] | None:
        """What a token sealed (``map``, ``setting``, ``plan``), or None when it is not one of
        ours or has expired."""
        try:
            data: dict[str, Any] = orjson.loads(
                zlib.decompress(self._fernet.decrypt(token.encode(), ttl=self._ttl_s))
            )
        except (InvalidToken, ValueError, zlib.error):
            return None
        return data
