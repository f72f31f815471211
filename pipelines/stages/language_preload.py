"""Loads the language models on import, for the local engine's fork server.

A run that tags languages names this module in :attr:`LanguageTagger.preload_modules`; the local
engine has its worker processes' fork server import it, so every worker starts with heliport's and
fastText's models already loaded (shared copy-on-write) instead of loading its own (~1-2 s of CPU
and ~0.8 GB per worker).
"""

from __future__ import annotations

from pipelines.stages.language import fasttext_model, identifier

identifier()
fasttext_model()
