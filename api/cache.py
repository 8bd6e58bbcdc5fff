"""Per-app, per-worker caches that make a repeated request cost dictionary lookups, never stale data.

- **Response bodies** of derived data, keyed by ETag. An ETag names the dataset version and every
  parameter, so a cached body cannot be stale: a write changes the version, hence the ETag, and old
  entries age out of the LRU. Serialising a lattice of tens of thousands of cells costs far more than
  the lookup.
- **Credentials**: the user behind an API key or session, remembered together with the store's accounts
  version. Creating, revoking or disabling anything bumps that version (``hotspots.access.accounts``), and every
  request reads it afresh (``api.deps.store_versions``), so a revoked key fails on its next request in
  every worker; what the cache saves is the key lookup, not the check.

Each app instance keeps its own (``app.state``): two apps on two stores never share an entry.
"""

from __future__ import annotations

import hashlib

from api.security import Credential
from hotspots.access.accounts import User
from hotspots.lru import LRU

#: (body, media type) of one derived response.
Body = tuple[bytes | str, str]


class CredentialCache:
    """Users by credential, each valid only at the accounts version it was looked up at."""

    def __init__(self, size: int = 1024) -> None:
        self._users: LRU[tuple[int, User]] = LRU(size)

    @staticmethod
    def _key(credential: Credential) -> str:
        """Entries are keyed by a digest: the process does not keep the secrets themselves around."""
        return hashlib.sha256(repr(credential).encode()).hexdigest()

    def get(self, credential: Credential, accounts_version: int) -> User | None:
        entry = self._users.get(self._key(credential))
        return entry[1] if entry is not None and entry[0] == accounts_version else None

    def put(self, credential: Credential, accounts_version: int, user: User) -> None:
        self._users.put(self._key(credential), (accounts_version, user))
