"""Bad values fail before anything is installed, with a message naming the problem."""

from __future__ import annotations

import re

import helm_python
import pytest

from tests.packaging.helmrender import (
    CHART,
    MILVUS_CHART,
    make_serve_config,
    production_values,
    render,
)


def test_schema_refuses_a_misspelt_key():
    with pytest.raises(helm_python.HelmValuesError, match="replicaz"):
        render({"api": {"replicaz": 3}})


def test_schema_refuses_a_misspelt_top_level_key():
    with pytest.raises(helm_python.HelmValuesError, match="monitorng"):
        render({"monitorng": {"enabled": True}})


def test_schema_refuses_a_malformed_digest():
    with (
        helm_python.Chart.load(CHART) as chart,
        pytest.raises(helm_python.HelmValuesError, match="digest"),
    ):
        chart.validate_schema({"image": {"digest": "latest"}})


def test_schema_refuses_a_database_url_with_a_password():
    with pytest.raises(helm_python.HelmValuesError, match="url"):
        render({"postgresql": {"url": "postgresql+psycopg://airlock:hunter2@db:5432/airlock"}})


def test_llm_without_serve_config_fails_naming_the_remedy():
    with pytest.raises(helm_python.HelmRenderError) as failure:
        render({"llm": {"enabled": True}})
    assert "llm.serveConfig is empty" in str(failure.value)
    assert "--set-file llm.serveConfig=serve.yaml" in str(failure.value)


def test_serve_config_for_another_model_root_fails():
    values = production_values(make_serve_config())
    values["llm"]["modelStore"]["mountPath"] = "/mnt/models"
    with pytest.raises(helm_python.HelmRenderError, match="mounted at /mnt/models"):
        render(values)


def test_serve_config_that_is_not_a_serve_config_fails():
    values = production_values("model: llama\n")
    with pytest.raises(helm_python.HelmRenderError, match="not a Ray Serve config"):
        render(values)


KEY = re.compile(r"^(\s*)(-\s+)?[A-Za-z][\w.-]*:")


def test_every_value_in_values_yaml_has_a_comment():
    lines = (CHART / "values.yaml").read_text().splitlines()
    undocumented = []
    for number, line in enumerate(lines):
        match = KEY.match(line)
        if not match or "#" in line:
            continue
        above = lines[number - 1].strip() if number else ""
        if not above.startswith("#"):
            undocumented.append(f"line {number + 1}: {line.strip()}")
    assert not undocumented, "values without a comment:\n" + "\n".join(undocumented)


def test_charts_pass_helm_lint_strictly():
    for chart in (CHART, MILVUS_CHART):
        report = helm_python.lint(chart, strict=True, kube_version="v1.31.0")
        problems = [m for m in report["messages"] if m["severity"] >= 2]
        assert not problems and not report["errors"], (chart.name, problems, report["errors"])
