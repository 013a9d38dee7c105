"""Webcare: the work of answering people.

One job: the state a team keeps about mentions: the inbox and its priority
(``inbox``), social-media-policy flags (``policy``), relevance labels and the
precision they measure (``labels``).

May import: ``config``, ``analysis``, ``store`` and the top-level utilities. Never
``report`` (the digest builds on webcare, not the other way round) nor the CLI.
"""
