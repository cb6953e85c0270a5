"""Adapters: one module per technology, each implementing a port.

Only this package imports third-party I/O libraries (SQLAlchemy, fsspec,
smtplib …); the core reaches them through the protocols in
:mod:`contactbook.ports`. Importing an adapter package does no I/O.
"""
