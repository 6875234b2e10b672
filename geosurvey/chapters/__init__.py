"""One small module per chapter: its settings (every knob it uses) and its jobs (every
model it trains), gathered by :mod:`.registry` for the command line and for the
chapters' first cells."""

from .registry import context, registry, start

__all__ = ["context", "registry", "start"]
