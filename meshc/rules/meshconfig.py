"""Rules about the mesh settings (MC020): an `istio` ConfigMap whose MeshConfig (`meshc.meshconfig`) cannot be used."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from meshc.meshconfig import CONFIGMAP_KEY
from meshc.rules.base import Finding, rule

if TYPE_CHECKING:
    from meshc.mesh import Mesh


@rule("MC020", "invalid-mesh-config")
def invalid_mesh_config(mesh: Mesh) -> Iterator[Finding]:
    """The `istio` ConfigMap of the input holds a mesh configuration meshc cannot use.

    meshc reads the mesh settings (`outboundTrafficPolicy`, `rootNamespace`,
    `defaultHttpRetryPolicy`, the default `exportTo` lists) from `--mesh-config`, else from the
    ConfigMap `istio` (key `mesh`) among the inputs. When that YAML is broken or a value is not
    one Istio accepts, meshc uses Istio's defaults instead and reports it here.

    ## Why is this bad?
    istiod refuses a mesh configuration it cannot parse and keeps its previous one, so the
    settings you wrote are not the ones the mesh runs with (and `meshc route` explains the
    defaults, not your settings).

    ## Example
    ```yaml
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: istio, namespace: istio-system}
    data:
      mesh: |-
        outboundTrafficPolicy:
          mode: REGISTRY
    ```

    Use instead:
    ```yaml
    data:
      mesh: |-
        outboundTrafficPolicy:
          mode: REGISTRY_ONLY
    ```
    """
    settings = mesh.settings
    if settings.configmap is None or mesh.options.mesh_config is not None:
        return
    for span, message in settings.problems:
        yield Finding(
            settings.configmap,
            ("data", CONFIGMAP_KEY),
            f"{message} (line {span.line}); meshc uses Istio's default mesh settings instead",
        )
