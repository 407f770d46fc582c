"""The Kubernetes models type what meshc reads and tolerate everything else."""

from __future__ import annotations

from meshc.models import lookup, validate
from meshc.models.workloads import Deployment, pod_template

from .conftest import check, messages


def test_unknown_kubernetes_fields_are_tolerated() -> None:
    document = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d", "labels": None, "annotations": {"a": "b"}, "somethingNew": 1},
        "spec": {
            "replicas": 2,
            "strategy": {"type": "RollingUpdate"},
            "selector": {"matchLabels": {"app": "d"}},
            "template": {
                "metadata": {"labels": {"app": "d", "version": "v1"}},
                "spec": {
                    "containers": [
                        {"name": "app", "image": "x", "resources": {}, "securityContext": {"runAsUser": 1337}}
                    ],
                    "volumes": None,
                },
            },
        },
    }
    model, problems = validate(lookup("apps/v1", "Deployment").model, document)
    assert problems == []
    assert isinstance(model, Deployment)
    assert model.metadata.labels == {}
    template = pod_template(model)
    assert template is not None and template.metadata.labels == {"app": "d", "version": "v1"}
    assert template.spec.containers[0].securityContext.runAsUser == 1337


def test_cronjob_pod_template_is_found_under_the_job_template() -> None:
    document = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "c", "namespace": "jobs"},
        "spec": {
            "schedule": "* * * * *",
            "jobTemplate": {"spec": {"template": {"metadata": {"labels": {"app": "c"}}}}},
        },
    }
    model, problems = validate(lookup("batch/v1", "CronJob").model, document)
    assert problems == [] and model.namespace == "jobs"
    assert pod_template(model).metadata.labels == {"app": "c"}


def test_service_target_port_takes_a_number_or_a_name() -> None:
    for target in (8080, "http"):
        document = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "s"},
            "spec": {"ports": [{"port": 80, "targetPort": target, "appProtocol": "http"}]},
        }
        model, problems = validate(lookup("v1", "Service").model, document)
        assert problems == [] and model.spec.ports[0].targetPort == target


def test_typed_kubernetes_fields_are_still_checked() -> None:
    document = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "labels": {"v": 2}},
        "spec": {"containers": [{"name": "a", "ports": [{"containerPort": "80"}]}]},
    }
    problems = validate(lookup("v1", "Pod").model, document)[1]
    assert [p.loc for p in problems] == [
        ("metadata", "labels", "v"),
        ("spec", "containers", 0, "ports", 0, "containerPort"),
    ]


def test_istio_metadata_rejects_unknown_fields_but_kubernetes_metadata_does_not() -> None:
    assert messages(check("WorkloadEntry", {"address": "10.0.0.1"}, clusterName="c")) == [
        "unknown field `clusterName` in `metadata`"
    ]
    document = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n", "clusterName": "c"}}
    assert validate(lookup("v1", "Namespace").model, document)[1] == []


def test_service_entry_and_workload_entry_checks() -> None:
    assert messages(check("ServiceEntry", {"hosts": []})) == ["a ServiceEntry needs at least one host in `hosts`"]
    spec = {"hosts": ["a.example.com"], "resolution": "STATIC", "endpoints": [{"address": "db.example.com"}]}
    assert "needs IP endpoints" in messages(check("ServiceEntry", spec))[0]
    assert messages(check("WorkloadEntry", {"labels": {"app": "a"}})) == [
        "missing required field `address` (or set `network`)"
    ]
    assert check("WorkloadEntry", {"address": "10.0.0.1", "ports": {"http": 8080}}) == []


def test_sidecar_catch_all_egress_listener_must_be_last() -> None:
    spec = {
        "egress": [
            {"hosts": ["./*"]},
            {"port": {"number": 80, "protocol": "HTTP", "name": "http"}, "hosts": ["./*"]},
        ]
    }
    (problem,) = check("Sidecar", spec)
    assert problem.loc == ("spec", "egress", 0)
    assert messages(check("Sidecar", {"egress": [{"hosts": ["bad"]}]}))[0].startswith("`bad` must have the form")
