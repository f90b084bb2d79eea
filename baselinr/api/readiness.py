"""``/ready``: storage reachable and its migrations current."""

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from baselinr.api import models
from baselinr.connectors import first_line
from baselinr.redact import redact
from baselinr.storage import migrate


def readiness(engine: Engine) -> tuple[models.Ready | None, str]:
    """(the ready state, "") or (None, why not)."""
    try:
        current = migrate.current_revision(engine)
    except sa.exc.SQLAlchemyError as exc:
        return None, redact(f"storage unreachable: {first_line(exc)}")
    head = migrate.head_revision()
    if current is None:
        return None, "storage has no Baselinr tables: run `baselinr profile` (create_tables: true)"
    if current != head:
        return None, (
            f"storage migrations are at {current}, this version needs {head}: run any "
            "baselinr command with storage.create_tables: true (or `baselinr serve`) to upgrade"
        )
    return models.Ready(revision=current, backend=engine.dialect.name), ""
