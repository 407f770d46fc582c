"""Codes of the input stage (MC0xx): YAML syntax, document shape and schema problems."""

from __future__ import annotations

from meshc.diagnostics import Severity
from meshc.rules.base import stage

YAML_SYNTAX = stage(
    "MC001",
    "yaml-syntax",
    Severity.ERROR,
    """
    The file is not valid YAML, is not UTF-8, or is a YAML bomb.

    ## Why is this bad?
    Kubernetes rejects the whole file, so nothing in it is applied. meshc reports the exact
    line and column and still lints the other documents and files.

    ## Example
    ```yaml
    spec:
      hosts:
      - reviews
       http: []      # bad indentation
    ```

    Use instead:
    ```yaml
    spec:
      hosts:
      - reviews
      http: []
    ```

    Documents whose aliases expand to more than 100,000 nodes, or that nest deeper than
    200 levels, are refused with this code ("billion laughs" protection).
    """,
)

UNKNOWN_KIND = stage(
    "MC002",
    "unknown-kind",
    Severity.WARNING,
    """
    A document in an Istio API group has a kind that Istio does not define.

    ## Why is this bad?
    Usually a typo (`VirtualServce`): the resource is rejected by the API server, or never
    checked by meshc. Checked in `networking.istio.io`, `security.istio.io`, `telemetry.istio.io`
    and `extensions.istio.io`; kinds Istio defines that meshc does not model (TrafficExtension)
    and kinds of other API groups are skipped silently and counted in the summary.

    ## Example
    ```yaml
    apiVersion: networking.istio.io/v1
    kind: VirtualServce
    ```

    Use instead:
    ```yaml
    apiVersion: networking.istio.io/v1
    kind: VirtualService
    ```
    """,
)

UNSUPPORTED_API_VERSION = stage(
    "MC003",
    "unsupported-api-version",
    Severity.ERROR,
    """
    The `apiVersion` is not one that serves this kind.

    ## Why is this bad?
    The API server rejects the resource (`no matches for kind "VirtualService" in version
    "networking.istio.io/v2"`).

    ## Example
    ```yaml
    apiVersion: networking.istio.io/v2
    kind: VirtualService
    ```

    Use instead:
    ```yaml
    apiVersion: networking.istio.io/v1
    kind: VirtualService
    ```
    """,
    istio="IST0106",
)

DUPLICATE_KEY = stage(
    "MC004",
    "duplicate-key",
    Severity.ERROR,
    """
    A mapping has the same key twice.

    ## Why is this bad?
    YAML forbids it; most tools silently keep the last value, so half of what you wrote is
    ignored.

    ## Example
    ```yaml
    route:
    - destination:
        host: reviews
        host: ratings
    ```

    Use instead:
    ```yaml
    route:
    - destination:
        host: ratings
    ```
    """,
)

UNKNOWN_FIELD = stage(
    "MC005",
    "unknown-field",
    Severity.ERROR,
    """
    A field that the resource's schema does not define (usually a typo).

    ## Why is this bad?
    The API server prunes or rejects unknown fields, so the setting silently has no effect
    (`lables` instead of `labels`, `subsets` at the wrong level).

    ## Example
    ```yaml
    subsets:
    - name: v1
      lables:
        version: v1
    ```

    Use instead:
    ```yaml
    subsets:
    - name: v1
      labels:
        version: v1
    ```
    """,
    istio="IST0106",
)

INVALID_VALUE = stage(
    "MC006",
    "invalid-value",
    Severity.ERROR,
    """
    A field has a value of the wrong type or outside what Istio accepts.

    Covers types, enums, durations, percentages, ports, one-of groups and RE2 regexes.

    ## Why is this bad?
    Istio's validation rejects the resource, or Envoy rejects the configuration pushed to it.

    ## Example
    ```yaml
    timeout: 5          # not a duration
    ```

    Use instead:
    ```yaml
    timeout: 5s
    ```
    """,
    istio="IST0106",
)

MISSING_FIELD = stage(
    "MC007",
    "missing-field",
    Severity.ERROR,
    """
    A required field is missing.

    ## Why is this bad?
    Istio's validation rejects the resource.

    ## Example
    ```yaml
    route:
    - destination:
        subset: v1
    ```

    Use instead:
    ```yaml
    route:
    - destination:
        host: reviews
        subset: v1
    ```
    """,
    istio="IST0106",
)
