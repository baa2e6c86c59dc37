"""The pack's entry point: ``pulumi up --policy-pack policy`` runs this file.

``PolicyPack`` starts the analyzer's gRPC server, prints its port and blocks, so nothing else
builds it. Pulumi runs this file from the pack's folder (``python -m pulumi.policy``, which uses
``runpy``), so the folder itself, not its parent, is on ``sys.path``: the parent is added, for
the policies import as the ``policy`` package, as the tests import them.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import EnforcementLevel, PolicyPack

from policy.policies import PACK_NAME, POLICIES

PolicyPack(name=PACK_NAME, policies=POLICIES, enforcement_level=EnforcementLevel.MANDATORY)
