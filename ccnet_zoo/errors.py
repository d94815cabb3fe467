"""The one error family of ccnet_zoo: every error a user can cause derives from :class:`CCNetZooError`.

The command line turns a ``CCNetZooError`` (and frd's ``FRDError``) into one line on stderr with exit code 2;
anything else is a bug and keeps its traceback. The subpackages' errors (``DataError``, ``ModelError``,
``WeightsError``, ``MetricsError``, ``ReproduceError``) derive from it; each also keeps the builtin base it had
(``ValueError`` or ``RuntimeError``) so that existing ``except`` clauses still match.
"""

from __future__ import annotations


class CCNetZooError(Exception):
    """Bad input, a missing file or weights, or a run that cannot go on; the message says what to do."""
