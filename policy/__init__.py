"""ackflow's CrossGuard policy pack (``pulumi up --policy-pack policy``).

The policies live in importable modules, listed in :mod:`policy.policies`, so that tests can run
them; only ``__main__.py`` builds the ``PolicyPack``, whose constructor starts the analyzer's
server and blocks.
"""
