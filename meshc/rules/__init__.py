"""Every rule meshc has; importing this package registers them all."""

from meshc.rules import envoy as envoy
from meshc.rules import input as input
from meshc.rules import nginx as nginx
from meshc.rules import routing as routing
from meshc.rules.base import RULES, Finding, Rule, describe, find, rule

__all__ = ["RULES", "Finding", "Rule", "describe", "find", "rule"]
