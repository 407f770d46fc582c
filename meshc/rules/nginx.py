"""Codes of the nginx backend (MC450-MC499): what `meshc compile --target nginx` cannot express.

Each code is emitted by `meshc.backends.nginx` while it writes nginx.conf. A warning means the
piece is left out or approximated (the configuration says which in a comment) and the rest is
written; `--strict` turns every one into an error. `MC490` is an error: a value that cannot be
written safely.
"""

from __future__ import annotations

from meshc.diagnostics import Severity
from meshc.rules.base import stage

FAULT_DELAY = stage(
    "MC450",
    "nginx-fault-delay",
    Severity.WARNING,
    """
    A fault `delay` cannot be written for nginx: core nginx has no way to sleep before forwarding.

    ## Why is this bad?
    The route is written without the delay, so requests that Istio would hold back (to test
    timeouts and resilience) go through at once; a test that relies on the delay passes or fails
    for the wrong reason. An `abort` in the same rule is still written.

    ## Example
    ```yaml
    http:
    - fault:
        delay:
          fixedDelay: 2s
          percentage: {value: 100}
      route:
      - destination: {host: ratings}
    ```

    Use instead: inject delays with Envoy (`--target envoy`), or slow down the upstream itself; for nginx keep
    only aborts:
    ```yaml
    - fault:
        abort:
          httpStatus: 503
          percentage: {value: 10}
    ```
    """,
)

FAULT_ABORT = stage(
    "MC451",
    "nginx-fault-abort",
    Severity.WARNING,
    """
    A fault `abort` that nginx cannot answer: a gRPC status, or an HTTP status `return` cannot send.

    ## Why is this bad?
    nginx answers an abort with `return <status>`, which knows nothing of gRPC trailers, closes the
    connection for 444 and is limited to 200-599. The abort is left out, so the requests Istio would
    fail are forwarded.

    ## Example
    ```yaml
    - fault:
        abort:
          grpcStatus: UNAVAILABLE
          percentage: {value: 10}
    ```

    Use instead: an HTTP status:
    ```yaml
    - fault:
        abort:
          httpStatus: 503
          percentage: {value: 10}
    ```
    """,
)

JWT = stage(
    "MC452",
    "nginx-jwt",
    Severity.WARNING,
    """
    JWT validation and routing on JWT claims cannot be written: `auth_jwt` is NGINX Plus only.

    ## Why is this bad?
    A RequestAuthentication selecting the proxy is not enforced at all: invalid tokens are
    forwarded instead of getting 401. A route on `@request.auth.claims.*` never matches (no claim is
    ever validated), and a `withoutHeaders` condition on a claim always holds.

    ## Example
    ```yaml
    kind: RequestAuthentication
    spec:
      selector: {matchLabels: {istio: ingressgateway}}
      jwtRules:
      - issuer: https://auth.example.com
    ```

    Use instead: validate tokens in the application or in an `auth_request` service in front of nginx, or
    compile for Envoy:
    ```sh
    meshc compile . --target envoy
    ```
    """,
)

AUTHORIZATION = stage(
    "MC453",
    "nginx-authorization",
    Severity.WARNING,
    """
    An AuthorizationPolicy that selects the proxy is not enforced by the nginx configuration.

    ## Why is this bad?
    Requests the policy would deny (403 `RBAC: access denied`) are forwarded. Principals,
    namespaces and request principals need mesh identity or JWTs, which OSS nginx does not have,
    and meshc does not translate the rest of the policy either.

    ## Example
    ```yaml
    kind: AuthorizationPolicy
    spec:
      selector: {matchLabels: {istio: ingressgateway}}
      action: DENY
      rules:
      - to:
        - operation: {paths: ["/admin/*"]}
    ```

    Use instead: enforce it where the policy is understood (Envoy), or block the path in the route itself:
    ```yaml
    http:
    - match:
      - uri: {prefix: /admin/}
      directResponse: {status: 403}
    ```
    """,
)

MESH_IDENTITY = stage(
    "MC454",
    "nginx-mesh-identity",
    Severity.WARNING,
    """
    `tls.mode: ISTIO_MUTUAL` needs Istio's workload certificates, which nginx cannot get.

    ## Why is this bad?
    The certificates come from istiod over SDS; nginx reads files only. The upstream is reached in
    plaintext, so an upstream that requires mTLS refuses the connection (503).

    ## Example
    ```yaml
    kind: DestinationRule
    spec:
      host: reviews
      trafficPolicy:
        tls: {mode: ISTIO_MUTUAL}
    ```

    Use instead: no TLS setting for a plaintext upstream, or certificates from files (`MUTUAL`), which a later
    version of this backend can write:
    ```yaml
    trafficPolicy:
      tls:
        mode: MUTUAL
        clientCertificate: /etc/certs/cert.pem
        privateKey: /etc/certs/key.pem
    ```
    """,
)

SOURCE = stage(
    "MC455",
    "nginx-source-match",
    Severity.WARNING,
    """
    A match block on `sourceLabels` or `sourceNamespace`: nginx routes every client the same way.

    ## Why is this bad?
    Istio decides these conditions per client proxy when it writes configuration. The nginx.conf
    is compiled for one client context (`--source-namespace`, `--source-labels`): the blocks that
    context does not meet are left out, so other clients are routed as if they were that context.

    ## Example
    ```yaml
    http:
    - match:
      - sourceLabels: {app: reviews}
      route:
      - destination: {host: ratings, subset: v2}
    ```

    Use instead: match on something the request carries, such as a header the client sets:
    ```yaml
    http:
    - match:
      - headers:
          x-client: {exact: reviews}
    ```
    """,
)

CONNECTION_POOL = stage(
    "MC456",
    "nginx-connection-pool",
    Severity.WARNING,
    """
    A connection-pool setting OSS nginx cannot express, or expresses differently (limits, queue, HTTP/2, keepalive).

    ## Why is this bad?
    `tcp.maxConnections` becomes `max_conns` on each server line, which differs from Envoy's
    circuit breaker: nginx counts per endpoint (`ceil(N / endpoints)` each, so the total can exceed
    N), a request over the limit gets 503 at once where Envoy first queues it (up to
    `http1MaxPendingRequests`, unlimited by default), and a single endpoint is listed once (copies
    would multiply the limit), so nginx makes no retry to it. `http1MaxPendingRequests` needs the
    `queue` directive (NGINX Plus); `http2MaxRequests`, `maxRetries`, `maxConcurrentStreams`,
    `h2UpgradePolicy` and `useClientProtocol` concern HTTP/2 or retry budgets nginx does not have
    towards upstreams; `tcpKeepalive` timings cannot be set per upstream. The message says what
    nginx does instead.

    ## Example
    ```yaml
    trafficPolicy:
      connectionPool:
        tcp:
          maxConnections: 1
        http:
          http1MaxPendingRequests: 1
    ```

    Use instead: compile for Envoy where the circuit breaker matters (`--target envoy`); for nginx,
    size the limit as a multiple of the endpoints and expect 503 instead of queueing:
    ```yaml
    trafficPolicy:
      connectionPool:
        tcp:
          maxConnections: 4   # 2 per endpoint with 2 endpoints
    ```
    """,
)

OUTLIER = stage(
    "MC457",
    "nginx-outlier-detection",
    Severity.WARNING,
    """
    Outlier detection is only approximated by nginx's passive `max_fails`/`fail_timeout`.

    ## Why is this bad?
    nginx skips a server for `fail_timeout` (= `baseEjectionTime`) after `max_fails`
    (= `consecutive5xxErrors`) failures within that time. It counts connection errors and timeouts,
    but a 5xx answer only when it retries it on another server line (`proxy_next_upstream`): a
    5xx answer returned to the client is not counted, so an endpoint answering 500 without retries
    is never skipped, where Envoy ejects it. nginx ignores `max_fails` on an upstream with a single
    server line, so a single endpoint without retries is never ejected. Envoy's separate sweep
    `interval`, the growing ejection time, `maxEjectionPercent`, `minHealthPercent` and the split
    between 5xx and gateway errors have no equivalent. The message and a comment in the
    configuration say which case applies.

    ## Example
    ```yaml
    trafficPolicy:
      outlierDetection:
        consecutive5xxErrors: 1
        interval: 1s
        baseEjectionTime: 3m
        maxEjectionPercent: 100
    ```

    Use instead: with nginx, let retries move failing requests to another endpoint (they are then
    counted), or compile for Envoy:
    ```yaml
    retries:
      attempts: 2
      retryOn: gateway-error,connect-failure
    ```
    """,
)

LOAD_BALANCER = stage(
    "MC458",
    "nginx-load-balancer",
    Severity.WARNING,
    """
    A load-balancing setting OSS nginx cannot express (PASSTHROUGH, warmup, locality, ring size, hash cookie).

    ## Why is this bad?
    `PASSTHROUGH` forwards to the address the client dialled, which a reverse proxy does not know:
    traffic to that cluster gets 503. `warmup` (slow start) is NGINX Plus only; locality load
    balancing and the ring or table size have no directive; nginx cannot generate the hash cookie.
    Consistent hashing itself is written (`hash ... consistent`) with a comment: it is sticky, but
    places keys on hosts differently from Envoy's ring. `LEAST_REQUEST` (Istio's default) becomes
    `least_conn`, which always takes the server with the fewest active connections, where Envoy
    takes the less busy of two random picks (possibly the same endpoint); both spread load, they
    are not reported.

    ## Example
    ```yaml
    trafficPolicy:
      loadBalancer:
        simple: PASSTHROUGH
    ```

    Use instead: ```yaml
    trafficPolicy:
      loadBalancer:
        simple: LEAST_REQUEST
    ```
    """,
)

RETRY = stage(
    "MC459",
    "nginx-retry",
    Severity.WARNING,
    """
    A retry setting `proxy_next_upstream` expresses differently or not at all (some retryOn tokens and codes, backoff).

    ## Why is this bad?
    nginx retries on a refused or reset connection (`error`), a connect or read timeout (`timeout`)
    and the statuses 500, 502, 503, 504, 403, 404 and 429 only. So `5xx` retries 500, 502, 503 and
    504 but not 501 or 505-599; `connect-failure` also retries a reset after the request was sent
    and does not retry a connect timeout; `retriable-4xx` (409), the gRPC tokens,
    `retriable-headers` and other codes are not retried. `gateway-error` and `reset` are exact for
    HTTP/1.1 upstreams. There is no backoff between tries and no locality preference. Retries only
    go to another server line (meshc lists a single endpoint once per try so that retries still
    happen, as Envoy retries the same endpoint). The message lists what differs.

    ## Example
    ```yaml
    retries:
      attempts: 3
      retryOn: retriable-4xx,unavailable
    ```

    Use instead: ```yaml
    retries:
      attempts: 3
      retryOn: gateway-error
    ```
    """,
)

TIMEOUT = stage(
    "MC460",
    "nginx-timeout",
    Severity.WARNING,
    """
    A route `timeout` is approximated: nginx has no deadline for a whole request.

    ## Why is this bad?
    Envoy's route timeout bounds the whole request including retries. nginx bounds the time between
    two reads or writes (`proxy_read_timeout`/`proxy_send_timeout`) and the time spent trying servers
    (`proxy_next_upstream_timeout`): a slow upstream that trickles bytes is never cut, and a request
    can last longer than the timeout.

    ## Example
    ```yaml
    http:
    - timeout: 2s
      route:
      - destination: {host: reviews}
    ```

    Use instead: accept the approximation, or set a per-try bound that nginx does enforce per read:
    ```yaml
      retries:
        attempts: 2
        perTryTimeout: 1s
    ```
    """,
)

MIRROR = stage(
    "MC461",
    "nginx-mirror",
    Severity.WARNING,
    """
    `mirror` holds the client's connection until the mirrored request is answered.

    ## Why is this bad?
    nginx's `mirror` subrequest must finish before nginx moves on to the next request on the
    connection, so a slow shadow service slows real clients; Envoy fires and forgets. The mirror is
    written (Host gets `-shadow`, the percentage by `split_clients`).

    ## Example
    ```yaml
    http:
    - route:
      - destination: {host: httpbin, subset: v1}
      mirror: {host: httpbin, subset: v2}
    ```

    Use instead: keep the shadow service fast, or mirror a small share:
    ```yaml
      mirror: {host: httpbin, subset: v2}
      mirrorPercentage: {value: 5}
    ```
    """,
)

CORS = stage(
    "MC462",
    "nginx-cors",
    Severity.WARNING,
    """
    A `corsPolicy` is not written for nginx.

    ## Why is this bad?
    Preflight requests are forwarded to the upstream and no `Access-Control-*` header is added, so
    browsers block cross-origin calls that Istio would allow.

    ## Example
    ```yaml
    http:
    - corsPolicy:
        allowOrigins: [{exact: https://example.com}]
        allowMethods: [GET]
      route:
      - destination: {host: reviews}
    ```

    Use instead: let the application answer CORS, or set the headers explicitly:
    ```yaml
      headers:
        response:
          set:
            access-control-allow-origin: https://example.com
    ```
    """,
)

TLS = stage(
    "MC463",
    "nginx-tls",
    Severity.WARNING,
    """
    TLS and TCP servers, and TLS towards upstreams, are not written by this backend.

    ## Why is this bad?
    Only plain-HTTP servers are written: an HTTPS, TLS-passthrough or TCP Gateway server (and the
    `tls`/`tcp` routes of VirtualServices) is left out, so its port is closed. Upstream TLS from a
    DestinationRule is not written either: nginx connects in plaintext.

    ## Example
    ```yaml
    kind: Gateway
    spec:
      servers:
      - port: {number: 443, name: https, protocol: HTTPS}
        tls: {mode: SIMPLE, credentialName: cert}
        hosts: ["*"]
    ```

    Use instead: terminate TLS in front of nginx and serve plain HTTP behind it:
    ```yaml
      servers:
      - port: {number: 80, name: http, protocol: HTTP}
        hosts: ["*"]
    ```
    """,
)

HEADER_NAME = stage(
    "MC464",
    "nginx-header-match",
    Severity.WARNING,
    """
    A header condition on a name that nginx cannot read (only letters, digits, `-` and `_` can be).

    ## Why is this bad?
    nginx reads request headers through `$http_<name>` variables, whose names hold only letters,
    digits and `_` (a `-` in the header name is read as `_`). A condition on any other header name
    cannot be evaluated: it is treated as false, so the route never matches (or, in
    `withoutHeaders`, it always holds).

    ## Example
    ```yaml
    - match:
      - headers:
          x.user:
            exact: jason
    ```

    Use instead: ```yaml
    - match:
      - headers:
          x-user:
            exact: jason
    ```
    """,
)

HEADERS = stage(
    "MC465",
    "nginx-header-operation",
    Severity.WARNING,
    """
    A header operation nginx cannot reproduce (per weighted destination, or an Envoy `%VARIABLE%`).

    ## Why is this bad?
    With several weighted destinations, nginx picks the upstream at run time, so header operations
    of a single destination are not written. Envoy `%VARIABLE%` substitutions in values are sent
    literally, since nginx has its own `$variables`.

    ## Example
    ```yaml
    route:
    - destination: {host: reviews, subset: v1}
      weight: 90
      headers:
        request:
          set: {x-version: v1}
    - destination: {host: reviews, subset: v2}
      weight: 10
    ```

    Use instead: set headers for the whole rule:
    ```yaml
    - headers:
        request:
          set: {x-canary: "true"}
      route:
      - destination: {host: reviews, subset: v1}
        weight: 90
      - destination: {host: reviews, subset: v2}
        weight: 10
    ```
    """,
)

DNS = stage(
    "MC466",
    "nginx-dns-endpoint",
    Severity.WARNING,
    """
    A cluster's endpoint is a DNS name: resolved at request time via `resolver`; upstream-level settings do not apply.

    ## Why is this bad?
    In an `upstream` block OSS nginx 1.22 resolves `server` names once, when it loads the
    configuration, and refuses to start when one does not resolve (a Kubernetes Service name
    outside its cluster). So such a cluster gets no `upstream` block: `proxy_pass` reads its
    `host:port` from a variable and nginx resolves it per request through the `resolver` directive
    (`--resolver IP[:PORT]`, answers cached for their TTL or `--resolver-valid`), which is close to
    Envoy's re-resolving `STRICT_DNS`. What lives in an upstream block is then lost, and the
    message lists what applies to the cluster:
    - the balancing method (`least_conn`, `random`, `hash ... consistent`): nginx tries the
      addresses of the answer in the resolver's rotation;
    - `keepalive` and `maxRequestsPerConnection`/`idleTimeout`/`maxConnectionDuration`: a new
      connection per request;
    - `max_conns` (`tcp.maxConnections`) and `max_fails`/`fail_timeout` (outlier detection, also
      reported as `MC457`);
    - retries: at most one try per resolved address (a single-address name is tried once);
    - a subset: it has the Service's name, so every pod of the Service may answer.
    Without `--resolver` no `resolver` is written (meshc never reads `/etc/resolv.conf`, so the
    output stays deterministic): the file still loads, and requests to the cluster answer 503
    (nginx logs `no resolver defined`) until one is configured.

    ## Example
    ```yaml
    kind: ServiceEntry
    spec:
      hosts: [api.example.com]
      resolution: DNS
    ```

    Use instead: name the DNS server, or point the cluster at addresses when you compile (they
    keep an `upstream` block with every setting):
    ```sh
    meshc compile . --target nginx --resolver 10.96.0.10
    meshc compile . --target nginx --upstream 'outbound|443||api.example.com=203.0.113.10:443'
    ```
    """,
)

NO_ENDPOINTS = stage(
    "MC467",
    "nginx-no-endpoints",
    Severity.WARNING,
    """
    A cluster has no usable endpoint, so traffic routed to it gets 503.

    ## Why is this bad?
    No upstream block can be written without a server. Routes to the cluster answer 503, like
    Envoy's `no healthy upstream`.

    ## Example
    ```yaml
    kind: ServiceEntry
    spec:
      hosts: [api.internal]
      resolution: STATIC
      endpoints: []
    ```

    Use instead: give the endpoints, or point the cluster somewhere when you compile:
    ```sh
    meshc compile . --target nginx --upstream 'outbound|80||api.internal=10.0.0.5:80'
    ```
    """,
)

REWRITE = stage(
    "MC468",
    "nginx-response",
    Severity.WARNING,
    """
    A redirect, direct response or regex rewrite that nginx can only approximate.

    ## Why is this bad?
    `return` with a 3xx status takes its text as the Location, so a direct response with a 3xx
    status loses its body; statuses 444 and 499 and those outside 200-599 cannot be returned; a
    binary body cannot be written. A `uriRegexRewrite` without `^` replaces every match in Envoy but
    only the first in nginx.

    ## Example
    ```yaml
    - directResponse:
        status: 302
        body: {string: moved}
    ```

    Use instead: ```yaml
    - redirect:
        uri: /new
        redirectCode: 302
    ```
    """,
)

DOMAIN = stage(
    "MC469",
    "nginx-host-pattern",
    Severity.WARNING,
    """
    A host that cannot be an nginx `server_name` (a wildcard other than `*.suffix` or `prefix.*`).

    ## Why is this bad?
    nginx's wildcard names are `*.example.com` and `www.example.*`; Envoy also accepts a `*` glued
    to other characters (`*-api.example.com`). The host is left out of the server block, so requests
    for it get 404.

    ## Example
    ```yaml
    kind: VirtualService
    spec:
      hosts: ["*-api.example.com"]
    ```

    Use instead: ```yaml
    spec:
      hosts: ["*.api.example.com"]
    ```
    """,
)

EMPTY_HEADER = stage(
    "MC470",
    "nginx-empty-header",
    Severity.WARNING,
    """
    A header condition that depends on telling an empty header from an absent one, which nginx cannot.

    ## Why is this bad?
    nginx reads a header through `$http_<name>`, which is empty both when the header is absent and
    when it is sent with an empty value. A presence match (`{}` or `regex: "*"`) therefore does not hold
    for an empty header (Envoy says it does), and a `withoutHeaders` presence match holds for it. With
    several headers of the same name, nginx also sees only the first value.

    ## Example
    ```yaml
    - match:
      - headers:
          x-debug: {}
    ```

    Use instead: match a value, which nginx compares exactly:
    ```yaml
    - match:
      - headers:
          x-debug:
            exact: "1"
    ```
    """,
)

HEADER_UNDERSCORE = stage(
    "MC471",
    "nginx-header-underscore",
    Severity.WARNING,
    """
    A header condition: nginx reads `x-user` and `x_user` as the same header, Envoy does not.

    ## Why is this bad?
    nginx exposes a request header as `$http_<name>` with `-` turned into `_`, so `$http_x_user`
    holds the first of `x-user` and `x_user` (the configuration keeps `underscores_in_headers on`
    so that headers with `_` are forwarded and can be matched, as Envoy does). A condition on
    `x-user` therefore also holds for a request that sends `x_user` instead, and the other way
    round; Envoy matches only the header of that exact name. A client can reach a route, or avoid
    one, by changing `-` to `_` in the header's name.

    ## Example
    ```yaml
    - match:
      - headers:
          x-user: {exact: admin}
    ```

    Use instead: when it matters, match on something nginx reads exactly (the path, a query
    parameter), or compile for Envoy:
    ```yaml
    - match:
      - uri: {prefix: /admin/}
    ```
    """,
)

REGEX_BACKTRACKING = stage(
    "MC472",
    "nginx-regex-backtracking",
    Severity.WARNING,
    """
    A regex with a nested quantifier: nginx's PCRE backtracks and can take exponential time on it.

    ## Why is this bad?
    Envoy runs regexes with RE2, whose time is linear in the input. nginx runs them with PCRE,
    which backtracks: a quantified group that holds another unbounded quantifier, such as
    `(x+x+)+y`, takes time exponential in the length of a subject that almost matches. Measured
    with nginx 1.22 on a header `x-token: xxx...xy!` against `(x+x+)+y`: 15 ms for 16 `x`, 156 ms
    for 20, 492 ms for 22, 816 ms for 24, until PCRE's match limit ends the attempt (and the
    condition is taken as false); with `worker_processes 1` every other client waits meanwhile.

    ## Example
    ```yaml
    - match:
      - headers:
          x-token: {regex: "(x+x+)+y"}
    ```

    Use instead: a regex without a quantifier inside a quantified group:
    ```yaml
    - match:
      - headers:
          x-token: {regex: "x+y"}
    ```
    """,
)

UNSAFE_VALUE = stage(
    "MC490",
    "nginx-unsafe-value",
    Severity.ERROR,
    """
    A value from the input cannot be written into nginx.conf safely, so it is left out.

    ## Why is this bad?
    Every string meshc writes into nginx.conf is quoted, escaped or checked, so that no value can
    add a directive or change another route. A value that would need a character nginx's syntax
    cannot carry (a newline or NUL in a header, a host with spaces, an RE2 regex that is invalid
    or too long for one nginx token, a rewrite URI that is not a path) is refused: the piece is
    left out and compile fails unless the diagnostic is ignored. This is almost always a typo or a
    hostile input.

    ## Example
    ```yaml
    headers:
      request:
        set:
          x-user: "jason\nX-Admin: true"
    ```

    Use instead: ```yaml
    headers:
      request:
        set:
          x-user: jason
    ```
    """,
)

LISTENER_CONFLICT = stage(
    "MC491",
    "nginx-listener-conflict",
    Severity.WARNING,
    """
    Two proxies (contexts) of the input would listen on the same address and port in one nginx.conf.

    ## Why is this bad?
    meshc writes the sidecar and every gateway into one nginx.conf; when two of them use the same
    port (after `--bind`, `--port-offset` and `--port-map`), only the first is written and the
    other's servers are left out.

    ## Example
    ```yaml
    kind: Gateway
    spec:
      servers:
      - port: {number: 9080, name: http, protocol: HTTP}   # the sidecar also serves 9080
    ```

    Use instead: compile one proxy at a time, or move its ports:
    ```sh
    meshc compile . --target nginx --context mesh
    meshc compile . --target nginx --context 'gateway:istio-system/istio=ingressgateway' --port-map 9080=18080
    ```
    """,
)
