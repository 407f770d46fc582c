"""meshc: an offline linter, route explainer and compiler for Istio service-mesh configuration."""

__version__ = "0.1.0"
