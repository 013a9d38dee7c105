"""Analysis: decide what a post says about a brand.

One job: text in, findings out: which brands a post mentions and by which terms
(``matcher``), why (``explain``), and the tone toward each brand (``sentiment``).

May import: ``config`` (the brands it compiles), ``models``, ``errors`` and the
top-level utilities. Never the store, the sources or the CLI: analysis is a pure
function of the text, so a scan, a re-score and a back-test all get the same answer.
"""
