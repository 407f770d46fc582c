"""Generate a synthetic mesh corpus of N services for benchmarks."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: svc{i}
  namespace: ns{ns}
  labels:
    app: svc{i}
spec:
  selector:
    app: svc{i}
  ports:
  - name: http
    port: 8080
    targetPort: 8080
---
"""

DESTINATION_RULE = """\
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: svc{i}
  namespace: ns{ns}
spec:
  host: svc{i}
  trafficPolicy:
    loadBalancer:
      simple: LEAST_REQUEST
    connectionPool:
      tcp:
        maxConnections: 100
        connectTimeout: 2s
      http:
        http1MaxPendingRequests: 10
        maxRequestsPerConnection: 5
    outlierDetection:
      consecutive5xxErrors: 5
      interval: 10s
      baseEjectionTime: 30s
      maxEjectionPercent: 50
  subsets:
  - name: v1
    labels:
      version: v1
  - name: v2
    labels:
      version: v2
    trafficPolicy:
      loadBalancer:
        simple: ROUND_ROBIN
---
"""

VIRTUAL_SERVICE = """\
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: svc{i}
  namespace: ns{ns}
spec:
  hosts:
  - svc{i}
  http:
  - name: canary
    match:
    - headers:
        end-user:
          exact: user{i}
    route:
    - destination:
        host: svc{i}
        subset: v2
  - name: api
    match:
    - uri:
        regex: "/api/v[0-9]+/items/.*"
    timeout: 3s
    retries:
      attempts: 3
      perTryTimeout: {per_try}
    route:
    - destination:
        host: svc{i}
        subset: v1
  - name: split
    route:
    - destination:
        host: svc{i}
        subset: v1
      weight: {w1}
    - destination:
        host: svc{i}
        subset: v2
      weight: {w2}
---
"""

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: svc{i}-{v}
  namespace: ns{ns}
spec:
  selector:
    matchLabels:
      app: svc{i}
      version: {v}
  template:
    metadata:
      labels:
        app: svc{i}
        version: {v}
    spec:
      containers:
      - name: app
        image: example/svc{i}:{v}
        ports:
        - containerPort: 8080
---
"""


def generate(
    services: int,
    namespaces: int = 10,
    deployments: bool = False,
    changed_every: int = 0,
    findings: float = 0.0,
) -> str:
    """Return one multi-document YAML text with a Service, DestinationRule and VirtualService per service.

    With `changed_every=N`, every Nth VirtualService splits its traffic 80/20 instead of 90/10:
    the same corpus with 1/N of its VirtualServices changed (for `meshc diff`).
    With `findings=F`, a share F of all documents (at most 1/3 without Deployments: one VirtualService
    per service) has one real finding: the `api` rule retries 3 × 2s within a 3s timeout (MC212).
    """
    per_service = 5 if deployments else 3
    if not 0.0 <= findings <= 1.0 / per_service + 1e-9:
        raise ValueError(f"findings must be between 0 and 1/{per_service} (one VirtualService per service)")
    with_finding = round(findings * per_service * services)
    parts: list[str] = []
    for i in range(services):
        ns = i % namespaces
        w1 = 80 if changed_every and i % changed_every == 0 else 90
        # Spread the findings evenly: service i has one when the running count steps up at i.
        finding = (i + 1) * with_finding // services > i * with_finding // services
        parts.append(SERVICE.format(i=i, ns=ns))
        parts.append(DESTINATION_RULE.format(i=i, ns=ns))
        parts.append(VIRTUAL_SERVICE.format(i=i, ns=ns, w1=w1, w2=100 - w1, per_try="2s" if finding else "1s"))
        if deployments:
            parts.extend(DEPLOYMENT.format(i=i, ns=ns, v=v) for v in ("v1", "v2"))
    return "".join(parts).removesuffix("---\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("services", type=int, help="number of services")
    parser.add_argument("-o", "--output", type=Path, help="output file (default: stdout)")
    parser.add_argument("--deployments", action="store_true", help="add two Deployments per service")
    parser.add_argument("--changed-every", type=int, default=0, help="change the weights of every Nth VirtualService")
    parser.add_argument(
        "--findings",
        type=float,
        default=0.0,
        help="share of documents with a real finding (MC212), at most 1/3 (every VirtualService)",
    )
    args = parser.parse_args(argv)
    text = generate(
        args.services, deployments=args.deployments, changed_every=args.changed_every, findings=args.findings
    )
    if args.output:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
