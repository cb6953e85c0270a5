"""Integration tests: real servers and databases, real threads, migrations up and down."""
