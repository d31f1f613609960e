"""The key that signs session cookies: from KEFU_SECRET_KEY, else a generated local file.

Production sets KEFU_SECRET_KEY (shared by every bot process). The embedded default makes
one on first start, keeps it in the data folder with mode 0600, and says so in the log.
"""

from __future__ import annotations

import logging
import os
import secrets

from config import Settings

log = logging.getLogger(__name__)


def secret_key(settings: Settings) -> str:
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    path = settings.data_dir / "secret_key"
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key)
    log.warning("KEFU_SECRET_KEY not set: generated %s (set the variable in production)", path)
    return key
