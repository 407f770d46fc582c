"""Every rule meshc has; importing this package registers them all.

Naming scheme: one module per concept (what the rules look at: `input`, `references`, `routing`,
`gateways`, `security`, `services`, and the `envoy` and `nginx` backends), never per code. A code's
first digit is its family (design.md §3: 0 input, 1 references, 2 routing, 3 policy and security,
4 backends), and codes are given out in order within a family, so a module holds one range or a
few. The first line of each module's docstring lists its codes (`(MC301–MC304, MC320)`; `MC1xx`
for a whole family); tests/test_rule_units.py checks that every code registered by a module is
listed there. Each rule computes its own findings (see `meshc.rules.base.per_mesh` for analyses
that several rules share).
"""

from meshc.rules import annotations as annotations
from meshc.rules import delegates as delegates
from meshc.rules import envoy as envoy
from meshc.rules import extensions as extensions
from meshc.rules import gatewayapi as gatewayapi
from meshc.rules import gateways as gateways
from meshc.rules import injection as injection
from meshc.rules import input as input
from meshc.rules import meshconfig as meshconfig
from meshc.rules import multicluster as multicluster
from meshc.rules import nginx as nginx
from meshc.rules import references as references
from meshc.rules import routing as routing
from meshc.rules import security as security
from meshc.rules import services as services
from meshc.rules import webhook as webhook
from meshc.rules.base import RULES, Finding, Rule, describe, find, rule

__all__ = ["RULES", "Finding", "Rule", "describe", "find", "rule"]
