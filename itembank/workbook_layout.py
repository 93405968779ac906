"""The review workbook's layout: what ``itembank export xlsx`` writes and ``itembank review import`` reads.

Defined once, here in the core: the exporter (``exporters/xlsx/``) may import a core module, the
core must never import an exporter.  Changing a name here changes both sides together; changing what
a *written* workbook looks like (sheet or header names, meta keys) makes workbooks already handed out
unreadable, so bump :data:`META_VERSION` when doing that.
"""

from __future__ import annotations

# --- sheets -----------------------------------------------------------------------------------------

ITEMS_SHEET = "Items"
SUMMARY_SHEET = "Summary"
GUIDE_SHEET = "Guide"
#: Item analysis (the latest ``evidence`` of each item, ``itembank analyze --write``), when the bank has any.
STATISTICS_SHEET = "Statistics"
#: Very hidden sheet of (key, value) rows: the workbook's identity.
META_SHEET = "itembank"

# --- the identity rows of the META_SHEET ------------------------------------------------------------

META_FORMAT_KEY = "format"
META_VERSION_KEY = "version"
META_BANK_KEY = "bank"  # the bank's title: a workbook of another bank is refused
META_ITEMS_KEY = "items"  # informational
META_GENERATOR_KEY = "generator"  # informational
META_FORMAT = "itembank-review-workbook"
META_VERSION = 1

# --- Items sheet headers the importer relies on (the other columns are for reading only) ---------

H_ID = "ID"
H_REVIEWER = "Reviewer"
H_DECISION = "Decision"
H_SUGGESTED = "Suggested difficulty"
H_COMMENTS = "Comments"
#: Hidden, locked: the id as exported (an edited ID cell is detected) and the content fingerprint.
H_EXPORTED_ID = "Exported id"
H_FINGERPRINT = "Fingerprint"
REQUIRED_HEADERS = (H_ID, H_REVIEWER, H_DECISION, H_SUGGESTED, H_COMMENTS, H_EXPORTED_ID, H_FINGERPRINT)

# --- decisions ----------------------------------------------------------------------------------------

#: The Decision dropdown, as reviewers see it.
DECISIONS = ("Approve", "Revise", "Reject")
#: What each decision (lower-cased, as recorded in ``reviews``) does to the item's status
#: (documented in docs/review.md).
DECISION_STATUS = {"approve": "approved", "revise": "review", "reject": "retired"}
