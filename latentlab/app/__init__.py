"""Application layer: command-line commands, the report and experiment drivers (imports everything below it)."""
