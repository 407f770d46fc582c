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

    Documents whose aliases repeat more than 100,000 nodes or 1,000,000 characters of text, or
    that nest deeper than 200 levels, are refused with this code ("billion laughs" protection).
    A tab that indents a line is reported as such (YAML indents with spaces only).
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

DUPLICATE_RESOURCE = stage(
    "MC012",
    "duplicate-resource",
    Severity.ERROR,
    """
    Two documents define the same resource: the same kind, namespace and name.

    ## Why is this bad?
    `kubectl apply` keeps only the last one, so the first is silently thrown away, and which one
    wins depends on the order in which files are applied. meshc reports both places, and its
    other commands (`route`, `compile`, `diff`, `graph`) use the later one, as `kubectl apply`
    would, with a warning. The namespace is the document's own, else the default namespace
    (`default`); the same name in two namespaces is two resources, and so is the same name in two
    clusters (Istio's `topology.istio.io/cluster` label, or the file's cluster in `clusters`).

    ## Example
    ```yaml
    # a.yaml
    apiVersion: networking.istio.io/v1
    kind: VirtualService
    metadata: {name: reviews, namespace: default}
    spec: {hosts: [reviews], http: [{route: [{destination: {host: reviews, subset: v1}}]}]}
    ---
    # b.yaml
    apiVersion: networking.istio.io/v1
    kind: VirtualService
    metadata: {name: reviews, namespace: default}     # the same VirtualService again
    spec: {hosts: [reviews], http: [{route: [{destination: {host: reviews, subset: v2}}]}]}
    ```

    Use instead: one document per resource (rename one, or delete the stale copy).
    """,
)

UNRENDERED_TEMPLATE = stage(
    "MC013",
    "unrendered-template",
    Severity.ERROR,
    """
    A document holds a Go template action (`{{ .Values.host }}`): it is a Helm chart template,
    not YAML that Kubernetes reads.

    ## Why is this bad?
    Unrendered, the file is either not YAML at all or YAML with the template text as values, and
    every check on it is noise. meshc reports it once, at the first key or string that holds a
    whole action (or, where the document is not YAML, at the first action on its lines), and
    checks nothing else in the document. A `{{ ... }}` in a comment is not reported, nor braces that
    only look like one across tokens (`uri: '/{{'}}`); documents of kinds
    meshc does not check (a ConfigMap holding alerting templates, say) are skipped as always,
    unless they are not YAML; in a Kubernetes kind meshc reads (Pod, Deployment, Service...) only
    one in `metadata` is reported: a container's `args` may hold a template for its program.

    ## Example
    ```yaml
    metadata:
      name: {{ .Release.Name }}-reviews
    ```

    Use instead: render the chart and lint what it renders.
    ```sh
    helm template CHART | meshc lint -
    helm template my-release ./chart -f values.yaml | meshc lint -
    ```
    """,
)
