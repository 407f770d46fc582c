"""End-to-end tests against real data planes (Envoy, nginx) on 127.0.0.1."""
