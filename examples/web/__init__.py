"""The web example of contactbook: family portal and back office (Starlette + Jinja2)."""
