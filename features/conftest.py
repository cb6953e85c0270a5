"""Bind the step code of ``tests/bdd`` to the features in this folder.

pytest-bdd registers steps as fixtures in the module that defines them; importing
them here makes them visible to every scenario below, so ``pytest features/``
runs (and counts) every scenario.
"""

from tests.bdd.steps_auth import *  # noqa: F403
from tests.bdd.steps_privacy import *  # noqa: F403
from tests.bdd.steps_rules import *  # noqa: F403
from tests.bdd.steps_seed import *  # noqa: F403
from tests.bdd.world import *  # noqa: F403
