"""Moodle's two import formats: Moodle XML (``xml``) and GIFT (``gift``).

``content`` is what both say the same way (HTML with embedded media, categories, tags, general
feedback, grader information); how an item is scored in Moodle is ``itembank.moodle_grades``, shared
with validation.
"""
