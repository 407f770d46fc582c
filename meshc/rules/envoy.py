"""Codes of the Envoy backend (MC401-MC449): what `meshc compile --target envoy` cannot express offline.

Each code is emitted by `meshc.backends.envoy` while it writes the bootstrap; the piece it names is
replaced by the documented fallback and the rest of the configuration is still written.
"""

from __future__ import annotations

from meshc.diagnostics import Severity
from meshc.rules.base import stage

REMOTE_JWKS = stage(
    "MC401",
    "envoy-remote-jwks",
    Severity.WARNING,
    """
    A RequestAuthentication names a `jwksUri` but gives no inline `jwks`.

    ## Why is this bad?
    istiod fetches the keys and inlines them into the proxy configuration. meshc compiles
    offline, so it cannot: the bootstrap makes Envoy fetch the keys itself (`remote_jwks` with a
    cluster named `meshc-jwks|<host>|<port>` to the URI's host). Until the fetch succeeds, and
    forever on a machine without network access to that host, every request that carries a
    token is rejected with 401 (`Jwks remote fetch is failed`).

    ## Example
    ```yaml
    jwtRules:
    - issuer: https://auth.example.com
      jwksUri: https://auth.example.com/.well-known/jwks.json
    ```

    Use instead:
    ```yaml
    jwtRules:
    - issuer: https://auth.example.com
      jwks: '{"keys": [{"kty": "RSA", "e": "AQAB", "n": "..."}]}'
    ```
    """,
)

CLUSTER_WITHOUT_ENDPOINTS = stage(
    "MC402",
    "envoy-cluster-without-endpoints",
    Severity.WARNING,
    """
    A cluster (usually a DestinationRule subset) has no endpoint meshc knows the address of.

    ## Why is this bad?
    In a cluster, istiod sends a subset cluster the addresses of the pods whose labels match.
    The input holds no such address (Deployments have none; Pods rarely carry their IP), and the
    Service's DNS name cannot stand in for a subset because it reaches every version. The
    cluster is written with no endpoints, so Envoy answers 503 (`no healthy upstream`) for the
    traffic routed to it.

    ## Example
    ```yaml
    kind: DestinationRule
    spec:
      host: reviews
      subsets:
      - name: v2
        labels: {version: v2}   # selects a Deployment: no address known
    ```

    Use instead: give the addresses with WorkloadEntries (or ServiceEntry endpoints), or point
    the cluster somewhere when you run the bootstrap:
    ```sh
    meshc compile . --target envoy --upstream 'outbound|9080|v2|reviews.default.svc.cluster.local=10.0.0.12:9080'
    ```
    """,
)

ISTIO_MUTUAL = stage(
    "MC403",
    "envoy-istio-mutual",
    Severity.WARNING,
    """
    `tls.mode: ISTIO_MUTUAL` needs the mesh's workload certificates, which exist only inside a cluster.

    ## Why is this bad?
    Istio's proxies receive their SPIFFE certificates from istiod over SDS; a static bootstrap
    has none. On a DestinationRule, meshc writes the cluster without TLS (plaintext to the
    upstream). On a Gateway server, the server is left out (a listener that cannot present a
    certificate would refuse every connection).

    ## Example
    ```yaml
    kind: DestinationRule
    spec:
      host: reviews
      trafficPolicy:
        tls:
          mode: ISTIO_MUTUAL
    ```

    Use instead: certificates from files, which the bootstrap can load:
    ```yaml
    trafficPolicy:
      tls:
        mode: MUTUAL
        clientCertificate: /etc/certs/cert-chain.pem
        privateKey: /etc/certs/key.pem
        caCertificates: /etc/certs/root-cert.pem
    ```
    """,
)

CREDENTIAL_NAME = stage(
    "MC404",
    "envoy-credential-name",
    Severity.WARNING,
    """
    A `credentialName` names a Kubernetes Secret, which a static bootstrap cannot read.

    ## Why is this bad?
    The gateway gets the certificate from the Secret through istiod's SDS server. Offline there
    is neither. An HTTPS or TLS Gateway server that uses it is left out of the bootstrap; a
    DestinationRule that uses it for client certificates gets TLS without a client certificate.

    ## Example
    ```yaml
    servers:
    - port: {number: 443, name: https, protocol: HTTPS}
      hosts: [bookinfo.example.com]
      tls:
        mode: SIMPLE
        credentialName: bookinfo-cert
    ```

    Use instead: mount the Secret and name the files:
    ```yaml
      tls:
        mode: SIMPLE
        serverCertificate: /etc/istio/ingressgateway-certs/tls.crt
        privateKey: /etc/istio/ingressgateway-certs/tls.key
    ```
    """,
)

LISTENER_CONFLICT = stage(
    "MC405",
    "envoy-listener-conflict",
    Severity.WARNING,
    """
    Two proxies of the input (the sidecar and a gateway, or two gateways) listen on the same port.

    ## Why is this bad?
    In a cluster each proxy is its own process. The bootstrap puts them all in one Envoy, where a
    port can be bound once: the listener that comes later (gateway contexts are sorted by name,
    after the sidecar) is left out.

    ## Example
    ```yaml
    kind: Gateway
    spec:
      servers:
      - port: {number: 9080, name: http, protocol: HTTP}   # also a service port of the mesh
    ```

    Use instead: compile one proxy at a time, or move ports apart:
    ```sh
    meshc compile . --target envoy --context mesh
    meshc compile . --target envoy --context 'gateway:istio-system/istio=ingressgateway' --port-map 9080=18080
    ```
    """,
)

AUTO_PASSTHROUGH = stage(
    "MC406",
    "envoy-auto-passthrough",
    Severity.WARNING,
    """
    A Gateway server uses `tls.mode: AUTO_PASSTHROUGH`.

    ## Why is this bad?
    AUTO_PASSTHROUGH routes on SNI names that encode a mesh-internal cluster
    (`outbound_.9080_._.reviews.default.svc.cluster.local`) and is meant for multi-cluster
    east-west gateways fed by istiod. The server is left out of the bootstrap.

    ## Example
    ```yaml
    servers:
    - port: {number: 15443, name: tls, protocol: TLS}
      hosts: ["*.local"]
      tls:
        mode: AUTO_PASSTHROUGH
    ```

    Use instead: `PASSTHROUGH` with a VirtualService `tls` route per host:
    ```yaml
      tls:
        mode: PASSTHROUGH
    ```
    """,
)

CUSTOM_AUTHORIZATION = stage(
    "MC407",
    "envoy-custom-authorization",
    Severity.WARNING,
    """
    An AuthorizationPolicy with `action: CUSTOM` delegates to an extension provider meshc does not know.

    ## Why is this bad?
    The provider (an ext_authz server) is declared in the mesh configuration, not in the
    resources. meshc fails closed: requests that match the policy's rules are denied (403), as
    if the provider had rejected them.

    ## Example
    ```yaml
    kind: AuthorizationPolicy
    spec:
      action: CUSTOM
      provider:
        name: my-ext-authz
      rules:
      - to:
        - operation:
            paths: ["/admin/*"]
    ```

    Use instead: an ALLOW or DENY policy that states the rule:
    ```yaml
    spec:
      action: DENY
      rules:
      - to:
        - operation:
            paths: ["/admin/*"]
    ```
    """,
)

UNSUPPORTED_AUTHZ = stage(
    "MC408",
    "envoy-unsupported-authorization-field",
    Severity.WARNING,
    """
    An AuthorizationPolicy uses a condition meshc cannot translate to Envoy's RBAC filter.

    ## Why is this bad?
    meshc does what Istio does with a condition its proxy cannot check: in an ALLOW policy the
    rule is dropped (it never allows anything), in a DENY or AUDIT policy the condition is
    dropped (the rule matches more requests). Both err on the side of denying.

    ## Example
    ```yaml
    rules:
    - when:
      - key: experimental.envoy.filters.network.mysql_proxy[db.table]
        values: ["[update]"]
    ```

    Use instead: a supported key (`request.headers[...]`, `source.ip`, `remote.ip`,
    `request.auth.claims[...]`, `request.auth.principal`, `destination.port`, ...):
    ```yaml
    rules:
    - when:
      - key: request.headers[x-tenant]
        values: ["acme"]
    ```
    """,
)

PEER_IDENTITY = stage(
    "MC409",
    "envoy-peer-identity",
    Severity.WARNING,
    """
    An AuthorizationPolicy checks the peer's mesh identity (principals, namespaces, service accounts).

    ## Why is this bad?
    These come from the client's mTLS certificate, and a static bootstrap has no mesh mTLS
    (see MC403). The condition is written as Istio writes it, but no connection ever carries a
    peer certificate: an ALLOW rule that needs it never matches, a DENY rule that needs it never
    fires, and a `notPrincipals`/`notNamespaces` condition always holds.

    ## Example
    ```yaml
    rules:
    - from:
      - source:
          principals: ["cluster.local/ns/default/sa/productpage"]
    ```

    Use instead: when the check can be made on the request, a JWT principal or a header:
    ```yaml
    rules:
    - from:
      - source:
          requestPrincipals: ["https://auth.example.com/productpage"]
    ```
    """,
)

INVALID_JWKS = stage(
    "MC410",
    "envoy-invalid-jwks",
    Severity.WARNING,
    """
    An inline `jwks` is not a JSON Web Key Set with at least one key.

    ## Why is this bad?
    Envoy refuses to start with such a provider. istiod replaces the keys with a fake key so the
    proxy starts and every token of that issuer is rejected (401); meshc does the same.

    ## Example
    ```yaml
    jwtRules:
    - issuer: https://auth.example.com
      jwks: '{"keys": []}'
    ```

    Use instead:
    ```yaml
    jwtRules:
    - issuer: https://auth.example.com
      jwks: '{"keys": [{"kty": "RSA", "e": "AQAB", "n": "..."}]}'
    ```
    """,
)

CLUSTER_CONFLICT = stage(
    "MC411",
    "envoy-cluster-conflict",
    Severity.WARNING,
    """
    Two proxies of the input define a cluster of the same name with different settings.

    ## Why is this bad?
    Every proxy in a cluster has its own view (DestinationRule `exportTo` can differ by
    namespace). One Envoy bootstrap holds each cluster name once: the first definition (the
    sidecar's, then gateways sorted by name) is kept, so the later proxy uses its settings.

    ## Example
    ```yaml
    kind: DestinationRule
    metadata: {name: reviews, namespace: istio-system}
    spec:
      host: reviews.default.svc.cluster.local
      exportTo: ["."]          # only the gateway in istio-system sees it
      trafficPolicy:
        loadBalancer: {simple: RANDOM}
    ```

    Use instead: compile each proxy on its own with `--context`:
    ```sh
    meshc compile . --target envoy --context mesh
    ```
    """,
)

LOCALITY_LB = stage(
    "MC412",
    "envoy-locality-lb",
    Severity.WARNING,
    """
    A DestinationRule enables locality load balancing, which needs endpoint localities.

    ## Why is this bad?
    Locality failover and distribution rely on the region/zone of every endpoint and of the
    proxy, which istiod learns from the nodes of a cluster. The input has none, so the bootstrap
    balances across all endpoints as if locality load balancing were off.

    ## Example
    ```yaml
    trafficPolicy:
      loadBalancer:
        localityLbSetting:
          enabled: true
    ```

    Use instead: leave it out of configuration meant to run outside a cluster:
    ```yaml
    trafficPolicy:
      loadBalancer:
        simple: LEAST_REQUEST
    ```
    """,
)

UNSAFE_VALUE = stage(
    "MC413",
    "envoy-unsafe-value",
    Severity.ERROR,
    """
    A value from the input that Envoy would refuse, or read as something else: nothing is written.

    ## Why is this bad?
    Envoy checks the strings of a bootstrap when it loads it: header names and values, redirect
    and rewrite paths and hosts hold no NUL, carriage return or line feed; a header value's `%`
    starts a command (`%DOWNSTREAM_REMOTE_ADDRESS%`), so a lone `%` or an unknown command makes the
    whole bootstrap fail to load ("Couldn't find valid command at position 2"); a query parameter
    name is at most 1024 bytes; a direct response body at most 1 MiB. One such value would stop
    the proxy from starting, so meshc writes nothing and names the value.

    ## Example
    ```yaml
    headers:
      request:
        set:
          x-discount: "50%"
    ```

    Use instead: write a percent sign as `%%`:
    ```yaml
    headers:
      request:
        set:
          x-discount: "50%%"
    ```
    """,
)
