"""Configuration: the YAML file read into frozen dataclasses.

One job: turn the config's text into a validated :class:`~.model.Config`, every error
naming file, line and key path. ``reader`` is the toolkit each section uses;
``loader`` finds the file and builds the whole; one module per section.

May import: ``errors``, ``models`` and the top-level utilities only. It is the start
of the data flow, so it never imports sources, analysis, the store or anything
above: what only those know (source types, compiled queries, engine names) reaches it
as a :class:`~.loader.Catalog` from ``mentionwatch.configure``.
"""
