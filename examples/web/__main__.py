"""``python -m examples.web``: serve the demo on 127.0.0.1:8000."""

from .app import main

main()
