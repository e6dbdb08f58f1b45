"""Whether an archive import embeds its answers at once or leaves them to ``index rebuild``.

An import leaving more answers than ``INLINE_VECTORS_MAX`` without a vector defers
embedding (a couple of minutes with the bundled model) to ``index rebuild``, so
that loading years of history stays fast; so does an import that asks to.

The CLI's help text names the limit, so this module loads nothing heavy until used.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from councilbot.settings import Settings

INLINE_VECTORS_MAX = 5000


@dataclass(frozen=True)
class VectorsAfterImport:
    pending: int  # past answers without a vector
    too_many: bool  # more than INLINE_VECTORS_MAX: deferred whatever was asked
    embed_now: bool  # fill them now; otherwise they wait for ``index rebuild``


def vectors_after_import(db: Session, settings: Settings, *, imported: bool, deferred: bool) -> VectorsAfterImport:
    """What to do about vectors once files were imported (``imported``); ``deferred``: --no-vectors."""
    from councilbot.services.semantic import pending_count, semantic_enabled

    if not imported or not semantic_enabled(settings):
        return VectorsAfterImport(0, too_many=False, embed_now=False)
    pending = pending_count(db, settings)
    too_many = pending > INLINE_VECTORS_MAX
    return VectorsAfterImport(pending, too_many=too_many, embed_now=bool(pending) and not (deferred or too_many))
