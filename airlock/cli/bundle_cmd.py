"""`airlock bundle build|verify|keygen`: the signed offline bundle for air-gapped installs."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from airlock.bundle.errors import BundleError
from airlock.bundle.keys import generate_key_pair, load_verify_key
from airlock.bundle.layout import CHART_MARKER, find_source
from airlock.bundle.verify import VerifyReport, verify_bundle
from airlock.cli.context import CliState, emit_json, pass_state
from models.registry import build_model_store
from models.store import ModelStore

FILE = click.Path(path_type=Path, dir_okay=False)
FOLDER = click.Path(path_type=Path, file_okay=False)


@click.group()
def bundle() -> None:
    """The signed offline bundle: build it connected, verify it air-gapped."""


def _progress(line: str) -> None:
    click.echo(line, err=True)


@bundle.command("build")
@click.option("--out", required=True, type=FOLDER, help="New (or empty) folder for the bundle.")
@click.option("--signing-key", required=True, type=FILE, help="Ed25519 private key PEM (keygen).")
@click.option("--model", "model_ids", multiple=True, help="Model id from the store (repeatable).")
@click.option("--platform", help="Target wheel platform, e.g. manylinux_2_28_x86_64.")
@click.option(
    "--python",
    "python_version",
    help="Target Python, in full, e.g. 3.11.9 (pip reads 3.11 as 3.11.0).",
)
@click.option("--extra", "extras", multiple=True, help="Further requirement, e.g. torch==2.13.0.")
@click.option("--find-links", multiple=True, type=FOLDER, help="Local wheel folder for pip.")
@click.option("--no-index", is_flag=True, help="pip uses only --find-links (no package index).")
@click.option(
    "--no-deps",
    is_flag=True,
    help="The project wheel and the given extras only; for tests and partial updates.",
)
@click.option("--image-digests", type=FILE, help='YAML/JSON: "repository:tag": "sha256:..."')
@click.option("--require-digests", is_flag=True, help="Fail when an image has no digest.")
@click.option("--source", type=FOLDER, help="Airlock source checkout (default: found from cwd).")
@click.option("--json", "as_json", is_flag=True, help="Summary as JSON on stdout.")
@pass_state
def bundle_build(state: CliState, /, **opts: Any) -> None:
    """Build the signed offline bundle (run on a connected build host)."""
    # Imported here: building needs the `bundle` extra, which `verify` hosts do not install.
    from airlock.bundle.build import BuildRequest, build_bundle
    from airlock.bundle.wheelhouse import WheelSource

    model_ids: tuple[str, ...] = opts["model_ids"]
    request = BuildRequest(
        out=opts["out"],
        source=_resolve_source(opts["source"]),
        signing_key=opts["signing_key"],
        wheels=WheelSource(
            platform=opts["platform"],
            python=opts["python_version"],
            extras=opts["extras"],
            find_links=tuple(p.resolve() for p in opts["find_links"]),
            no_index=opts["no_index"],
            no_deps=opts["no_deps"],
        ),
        model_ids=model_ids,
        model_store=_model_store(state) if model_ids else None,
        image_digests=opts["image_digests"],
        require_digests=opts["require_digests"],
    )
    summary = build_bundle(request, _progress)
    for warning in summary.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(
        f"bundle {summary.out}: {summary.files} files, {summary.total_bytes / 1e6:.1f} MB, "
        f"{summary.wheels} wheels, {len(summary.models)} models, {summary.images} images "
        f"({len(summary.unpinned_images)} without a digest), signed by key {summary.key_id}",
        err=True,
    )
    if opts["as_json"]:
        emit_json(asdict(summary))


def _resolve_source(given: Path | None) -> Path:
    source = given.resolve() if given else find_source(Path.cwd())
    if source is None:
        raise BundleError(
            f"no Airlock source checkout around {Path.cwd()} (no {CHART_MARKER})",
            remedy="run from the checkout or pass --source",
        )
    return source


def _model_store(state: CliState) -> ModelStore:
    return build_model_store(state.settings)


@bundle.command("verify")
@click.argument("bundle_dir", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option(
    "--public-key", required=True, type=FILE, help="The signer's public key, obtained apart."
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON.")
def bundle_verify(bundle_dir: Path, public_key: Path, as_json: bool) -> None:
    """Check a bundle offline; exit 1 naming every changed, missing or unlisted file."""
    report = verify_bundle(bundle_dir, load_verify_key(public_key), str(public_key))
    if as_json:
        emit_json({**asdict(report), "ok": report.ok})
    else:
        _print_report(report)
    sys.exit(0 if report.ok else 1)


def _print_report(report: VerifyReport) -> None:
    for problem in report.problems:
        click.echo(f"{problem.path}: {problem.problem}")
    verdict = "intact" if report.ok else f"{len(report.problems)} problems"
    signature = "valid" if report.signature_valid else "INVALID"
    click.echo(
        f"bundle {report.bundle}: signature {signature} (key {report.key_id}), "
        f"{report.files_checked} files checked, {verdict}"
    )


@bundle.command("keygen")
@click.option("--out", required=True, type=FILE, help="Private key file to create (mode 0600).")
def bundle_keygen(out: Path) -> None:
    """Create an Ed25519 key pair for signing bundles: OUT and OUT's .pub.pem beside it."""
    public = generate_key_pair(out)
    click.echo(f"wrote {out} (private, mode 0600: keep it on the build host) and {public}")
    click.echo(f"give {public} to the operators apart from the bundle (e.g. on paper or a portal)")
