"""Independent pieces of one export shared out over forked processes: :func:`itembank.forked.shared_out`.

Exporters use it for work that pays to share (the HTML export's pages), only when the caller asked
for more than one job (``ExportContext.jobs``: 1 in the library, in ``preview`` and in the build's
workers; ``itembank export -j N``).
"""

from __future__ import annotations

from itembank.forked import can_fork, shared_out

__all__ = ["can_fork", "shared_out"]
