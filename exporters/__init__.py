"""Export formats: one module per format, each registered as an ``itembank.exporters`` entry point.

An exporter reads the model (and the shared renderer) and returns bytes; it never imports another
exporter or the CLI, and never writes files itself.
"""
