"""External systems behind small interfaces, each with an in-memory implementation for
single-process mode and a real one chosen by URL in the settings."""
