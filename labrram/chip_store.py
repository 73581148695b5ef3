"""Where a simulated chip's state is kept between commands: beside the database that records it.

For a SQLite database ``lab.db`` the chips live in ``lab.db.chips/``; for a server database in
``$XDG_DATA_HOME/labrram/chips/<database>/``. One file per chip and bench, so a session of several
``labrram measure`` commands works on one simulated chip, as it would on a real bench.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from sqlalchemy.engine import make_url

from labrram.config import BenchConfig
from labrram.db.engine import default_database_path


def chip_state_path(database_url: str, config: BenchConfig) -> Path:
    """The state file of the configuration's simulated chip for this database."""
    url = make_url(database_url)
    name = re.sub(r"[^A-Za-z0-9._-]", "_", f"{config.sample.chip}--{config.name}") + ".npz"
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        database = Path(url.database)
        return database.with_name(database.name + ".chips") / name
    identity = hashlib.sha256(url.render_as_string(hide_password=True).encode()).hexdigest()[:16]
    return default_database_path().parent / "chips" / identity / name
