"""Benchmarks of contactbook against hand-written baselines, in one run on one database.

Not tests: nothing here asserts a time. ``python -m benchmarks`` generates a
synthetic, fictional world (facilities, inmates, families, grants, posts,
notices, messages) by bulk loading rows shaped by the SQL adapter's own row
mappers, then measures library calls against raw DBAPI SQL, plain ``smtplib``
and plain file copies, prints a table and writes ``benchmarks/results/<backend>.json``.

Modules:

* :mod:`benchmarks.world` — the synthetic world and its bulk loader;
* :mod:`benchmarks.target` — the database under test (SQLite file or a PostgreSQL
  database ``bench`` created and dropped by the run) and its raw DBAPI side;
* :mod:`benchmarks.timing` — repetitions, interleaving, percentiles;
* :mod:`benchmarks.lists`, :mod:`benchmarks.writes`, :mod:`benchmarks.dispatch`,
  :mod:`benchmarks.uploads` — the measurements and their raw baselines;
* :mod:`benchmarks.report` — targets, the table and the JSON results.
"""
