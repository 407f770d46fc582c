"""Every rule meshc has; importing this package registers them all."""

from meshc.rules import annotations as annotations
from meshc.rules import envoy as envoy
from meshc.rules import extensions as extensions
from meshc.rules import gatewayapi as gatewayapi
from meshc.rules import gateways as gateways
from meshc.rules import injection as injection
from meshc.rules import input as input
from meshc.rules import multicluster as multicluster
from meshc.rules import nginx as nginx
from meshc.rules import references as references
from meshc.rules import routing as routing
from meshc.rules import security as security
from meshc.rules import services as services
from meshc.rules import webhook as webhook
from meshc.rules.base import RULES, Finding, Rule, describe, find, rule

__all__ = ["RULES", "Finding", "Rule", "describe", "find", "rule"]
