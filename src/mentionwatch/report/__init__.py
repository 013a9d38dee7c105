"""Reports: what the store says, told to people and other programs.

One job: read the store and deliver: the digest (``digest`` as data, ``render`` as
text / markdown / HTML / JSON), alert rules and their episodes (``alerts``), e-mail
(``mailer``) and webhooks (``webhook``) with exactly-once bookkeeping (``delivery``),
and per-source health (``health``).

May import: ``config``, ``analysis``, ``store``, ``webcare``, ``sources.http`` (the one
HTTP client policy) and the top-level utilities. Never the CLI.
"""
