"""``itembank review import``: reviewers' decisions from the review workbook back into the item files.

The workbook is the one ``itembank export xlsx`` writes (``itembank.exporters.xlsx``).  Each reviewed row
becomes, on its item:

* ``status``: Approve → ``approved``, Revise → ``review``, Reject → ``retired``;
* ``difficulty``: the suggested difficulty, when the reviewer gave one;
* a record appended to ``reviews`` (decision, reviewer, comment, date, suggested_difficulty).

Safety, in this order:

1. the file is checked before it is opened as a workbook: size, zip member count, total uncompressed
   size, compression ratio, no DTDs (zip and entity bombs); non-xlsx or corrupt files are refused;
2. the workbook must be an itembank review workbook *of this bank* (its hidden ``itembank`` sheet);
3. every row is validated before anything is written: unknown ids, duplicated rows, edited id cells,
   rows that were never exported and unknown decisions are errors with their row number, and one error
   stops the whole import;
4. a row whose item changed since the export (fingerprint mismatch) is held back and reported: the
   reviewer judged another text than the bank now holds;
5. every file's new text is computed first, re-parsed, compared with the intended data and the
   changed items are validated; only then is each file written atomically.

Files are edited in place, not re-serialized: positions come from PyYAML's C composer (libyaml node
marks), the new YAML (the review records: a few short strings) is written here in the plainest style
that reads back exactly, and only the changed scalars and the inserted lines differ — comments, key
order, quoting and line wrapping of everything else stay byte-for-byte (a re-dump would re-indent or
re-wrap hand-written files).  JSON item files are re-serialized with two-space indentation (key order
kept).  The workbook layout is :mod:`itembank.workbook_layout`, shared with the exporter.

Modules: ``archive`` (the file checks of step 1), ``rows`` (steps 2-3), ``yaml_edit`` (writing
records into item files in place), ``apply`` (steps 4-5: plan, verify, write).
"""

from __future__ import annotations

from ..errors import ReviewImportError
from .apply import FileChange, ImportReport, apply_import, check_date, import_reviews, plan_import
from .rows import ReviewRow, check_identity, read_workbook

__all__ = ["FileChange", "ImportReport", "ReviewImportError", "ReviewRow", "apply_import", "check_date", "check_identity", "read_workbook", "import_reviews", "plan_import"]
