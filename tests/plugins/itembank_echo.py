"""A third-party export format, as a plug-in package would ship it (tests/test_formats.py installs it
by entry point in-process, tests/test_packaging.py as a real package in a fresh venv)."""

from itembank.formats import ExportResult


class Echo:
    name = "echo"
    description = "item ids, one a line"
    default_output = "ids.txt"
    options: frozenset[str] = frozenset()

    def export(self, bank, ctx):
        result = ExportResult(data="".join(i.id + "\n" for i in bank.items).encode())
        for item in bank.items:
            result.wrote(item.type)
        return result


exporter = Echo()
