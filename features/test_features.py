"""Every scenario of every feature in this folder, on each wiring."""

from pytest_bdd import scenarios

scenarios(".")
