"""The Grafana dashboards shipped by the chart and Ansible: one shape, one datasource variable."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.packaging.tools import REPO

DASHBOARDS = REPO / "helm" / "airlock" / "files" / "dashboards"
VIEWS = ("tickets", "guardrails", "retrieval", "llm-serving", "gpu")
PANEL_TYPES = frozenset({"timeseries", "stat", "bargauge", "heatmap"})
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
GRID_WIDTH = 24  # Grafana's grid has 24 columns

Dashboard = dict[str, Any]


def load_dashboards() -> dict[str, Dashboard]:
    """Every dashboard file, by file name without `.json`."""
    return {path.stem: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}


def iter_targets(board: Dashboard) -> Iterator[tuple[str, dict[str, Any]]]:
    """(panel title, target) for every query of a dashboard's panels."""
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            yield panel["title"], target


def query_variables(board: Dashboard) -> list[dict[str, Any]]:
    """The dashboard's template variables that run a Prometheus query."""
    return [v for v in board["templating"]["list"] if v["type"] == "query"]


BOARDS = load_dashboards()


def test_dashboards_exist_for_every_view() -> None:
    assert sorted(BOARDS) == sorted(VIEWS)


@pytest.mark.parametrize("name", VIEWS)
def test_dashboard_follows_the_airlock_conventions_when_loaded(name: str) -> None:
    board = BOARDS[name]
    assert board["schemaVersion"] == 39
    assert board["title"].startswith("Airlock / ")
    assert board["tags"] == ["airlock"]
    assert board["time"] == {"from": "now-6h", "to": "now"}
    assert board["refresh"] == "30s"
    assert board["uid"] == f"airlock-{name}"  # stable: links and provisioning rely on it


def test_dashboard_uids_and_titles_are_unique() -> None:
    assert len({b["uid"] for b in BOARDS.values()}) == len(BOARDS)
    assert len({b["title"] for b in BOARDS.values()}) == len(BOARDS)


@pytest.mark.parametrize("name", VIEWS)
def test_datasource_is_a_prometheus_variable_when_imported(name: str) -> None:
    variables = {v["name"]: v for v in BOARDS[name]["templating"]["list"]}
    datasource = variables["datasource"]
    assert (datasource["type"], datasource["query"]) == ("datasource", "prometheus")
    assert len(variables) == len(BOARDS[name]["templating"]["list"])  # names are unique


@pytest.mark.parametrize("name", VIEWS)
def test_panel_ids_are_unique_within_a_dashboard(name: str) -> None:
    ids = [panel["id"] for panel in BOARDS[name]["panels"]]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("name", VIEWS)
def test_every_panel_has_a_known_type_and_a_grid_position(name: str) -> None:
    for panel in BOARDS[name]["panels"]:
        assert panel["type"] in PANEL_TYPES, panel["title"]
        grid = panel["gridPos"]
        assert all(isinstance(grid[key], int) for key in ("x", "y", "w", "h")), panel["title"]
        assert grid["w"] > 0 and grid["h"] > 0, panel["title"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= GRID_WIDTH, panel["title"]


@pytest.mark.parametrize("name", VIEWS)
def test_panels_do_not_overlap_on_the_grid(name: str) -> None:
    cells: dict[tuple[int, int], str] = {}
    for panel in BOARDS[name]["panels"]:
        grid = panel["gridPos"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']!r} overlaps {cells[(x, y)]!r}"
                cells[(x, y)] = panel["title"]


@pytest.mark.parametrize("name", VIEWS)
def test_every_panel_and_query_uses_the_datasource_variable(name: str) -> None:
    board = BOARDS[name]
    for panel in board["panels"]:
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert panel["targets"], f"{panel['title']!r} has no query"
    for title, target in iter_targets(board):
        assert target["datasource"] == DATASOURCE, title
        assert target["expr"].strip(), title
    for variable in query_variables(board):
        assert variable["datasource"] == DATASOURCE, variable["name"]


@pytest.mark.parametrize("name", VIEWS)
def test_query_ref_ids_are_unique_within_a_panel(name: str) -> None:
    for panel in BOARDS[name]["panels"]:
        refs = [target["refId"] for target in panel["targets"]]
        assert len(refs) == len(set(refs)), panel["title"]


def test_dashboards_are_plain_files_for_configmaps() -> None:
    # A ConfigMap holds at most 1 MiB; the chart puts one dashboard in each.
    for path in DASHBOARDS.glob("*.json"):
        assert Path(path).stat().st_size < 512 * 1024, path.name
