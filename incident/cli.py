"""The `stormline` command: serve, check-config, and --version."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import msgspec
import yaml
from hypercorn.config import Config as HypercornConfig

from bench import loadtest
from geo.build import build
from geo.gazetteer import Gazetteer
from incident import __version__, cli_accounts, cli_geo
from incident.config import ConfigError, load_config
from incident.embedded import EmbeddedRedis, EmbeddedRedisError
from incident.settings import Settings, SettingsError, settings_from_env
from incident.triage import evaluate, learn
from incident.triage.model import configured, write_model
from incident.workers import supervise

EXIT_BAD_CONFIG = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stormline", description="Stormline, the storm 311 center.")
    parser.add_argument("--version", action="version", version=f"stormline {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the server (Hypercorn)")
    serve.add_argument("--bind", help="host:port or unix:PATH (env STORMLINE_BIND; default 127.0.0.1:8311)")
    serve.add_argument("--workers", type=int, help="worker processes (env STORMLINE_WORKERS; default 1)")
    serve.add_argument("--config", help="surge config file (env STORMLINE_CONFIG)")

    check = commands.add_parser("check-config", help="check a surge config file and exit (2 if bad)")
    check.add_argument("file", nargs="?", help="the file (default: STORMLINE_CONFIG, else surge_config.yaml)")

    cli_accounts.add_commands(commands)
    cli_geo.add_commands(commands)
    triage = commands.add_parser("triage", help="the triage rules").add_subparsers(
        dest="action", required=True
    )
    evaluate = triage.add_parser(
        "evaluate", help="life-safety recall, false transfers, per-concept and per-category figures, speed"
    )
    evaluate.add_argument(
        "files", nargs="*", help="labelled calls (YAML); default: the shipped development and held-out sets"
    )
    teach = triage.add_parser("learn", help="learn the model that puts the screen questions first")
    teach.add_argument(
        "files", nargs="*", help="labelled calls (YAML), one set a file; default: the shipped seen sets"
    )
    teach.add_argument(
        "--out", default="triage_model.json", help="where to write it (default triage_model.json, here)"
    )
    dispatch = commands.add_parser("dispatch", help="crews and their work").add_subparsers(
        dest="action", required=True
    )
    dispatch.add_parser("reindex", help="rebuild crews' work lists, open-work and caller indexes (upgrades)")
    directory = commands.add_parser("agencies", help="the directory of outside agencies").add_subparsers(
        dest="action", required=True
    )
    load = directory.add_parser("import", help="load an Open Referral HSDS package (CSV folder or JSON file)")
    load.add_argument("path", help="a folder of HSDS CSV files, or a JSON file of services")

    commands.add_parser(
        "loadtest",
        help="drive a storm at a Stormline it starts, measure it (stormline loadtest --help)",
        add_help=False,
    ).add_argument("options", nargs=argparse.REMAINDER)

    given = list(sys.argv[1:] if argv is None else argv)
    if given[:1] == ["loadtest"]:  # its options are its own (argparse would take them for ours)
        return loadtest.main(given[1:])
    args = parser.parse_args(given)
    try:
        if args.command == "check-config":
            settings = settings_from_env(config=args.file)
            return _check_config(settings)
        if args.command == "triage" and args.action == "learn":
            return _learn(settings_from_env(), args.files, Path(args.out))
        if args.command == "triage":
            return _evaluate(settings_from_env(), args.files)
        if args.command in ("users", "tokens", "geo", "dispatch", "agencies", "registry", "drill"):
            return cli_accounts.run(args, settings_from_env())
        settings = settings_from_env(bind=args.bind, workers=args.workers, config=args.config)
        return _serve(settings)
    except SettingsError as error:
        print(f"stormline: {error}", file=sys.stderr)
        return EXIT_BAD_CONFIG


def _evaluate(settings: Settings, files: list[str]) -> int:
    try:
        config = load_config(settings.config)
        model = configured(config, settings.config)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return EXIT_BAD_CONFIG
    return evaluate.report(config, {file: Path(file) for file in files} or None, model)


def _learn(settings: Settings, files: list[str], out: Path) -> int:
    try:
        config = load_config(settings.config)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return EXIT_BAD_CONFIG
    if not out.parent.is_dir():
        print(f"stormline: --out {out}: no folder {out.parent}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    paths = {file: Path(file) for file in files}
    paths = paths or {name: evaluate.SETS[name] for name in evaluate.LEARN_FROM}
    try:
        sets = {name: evaluate.load(path) for name, path in paths.items()}
        print("reading the gazetteer's street and place names (set aside, as serving does)", file=sys.stderr)
        model = learn.learn(config, sets, names=Gazetteer(build()).names())
        write_model(model, out)
    except (OSError, yaml.YAMLError, msgspec.ValidationError, learn.LearnError) as error:
        print(f"stormline: {error}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    figures = model.figures
    print(
        f"{out}: {len(model.weights)} weights from {model.cases} calls; with each set left out in turn,"
        f" the rules transfer or ask first for {figures['transferred_or_asked_by_rules']:.1%} of the"
        f" life-safety calls, with the model {figures['transferred_or_asked']:.1%}"
        f" ({figures['rules_misses_asked']:.1%} of what the rules miss), asking first for"
        f" {figures['others_asked']:.1%} of the non-emergency calls (rules alone"
        f" {figures['others_asked_by_rules']:.1%})"
    )
    return 0


def _check_config(settings: Settings) -> int:
    try:
        config = load_config(settings.config)
        configured(config, settings.config)  # a model file it names reads
    except ConfigError as error:
        print(error, file=sys.stderr)
        return EXIT_BAD_CONFIG
    print(f"{settings.config}: ok ({config.jurisdiction.name}, {len(config.categories)} categories)")
    return 0


def _serve(settings: Settings) -> int:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    log = logging.getLogger("stormline")
    try:
        config = load_config(settings.config)
        configured(config, settings.config)  # before any worker starts
    except ConfigError as error:
        print(error, file=sys.stderr)
        return EXIT_BAD_CONFIG

    # Until Hypercorn installs its own handler, SIGTERM must still unwind through `finally`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    embedded = None
    try:
        if not settings.redis_url:
            try:
                embedded = EmbeddedRedis(settings.data_dir, settings.redis_server).start()
            except EmbeddedRedisError as error:
                print(f"stormline: {error}", file=sys.stderr)
                return 1
            # Workers are new processes: they find the shared server through the environment.
            os.environ["STORMLINE_REDIS_URL"] = embedded.url
            log.info("embedded Redis in %s", embedded.data_dir)
        os.environ["STORMLINE_CONFIG"] = settings.config
        os.environ["STORMLINE_DATA_DIR"] = settings.data_dir

        hyper = HypercornConfig()
        hyper.application_path = "incident.asgi:app"
        hyper.bind = [settings.bind]
        hyper.workers = settings.workers
        hyper.worker_class = _worker_class()
        hyper.graceful_timeout = 10
        hyper.errorlog = "-"
        log.info(
            "Stormline %s for %s on %s (%d worker%s, %s)",
            __version__,
            config.jurisdiction.name,
            settings.bind,
            settings.workers,
            "" if settings.workers == 1 else "s",
            hyper.worker_class,
        )
        return supervise(hyper, settings.workers, tend=_reviver(embedded, log))
    finally:
        if embedded is not None:
            embedded.stop()
            log.info("embedded Redis stopped")


def _reviver(embedded: EmbeddedRedis | None, log: logging.Logger) -> Callable[[], None] | None:
    if embedded is None:
        return None

    def revive() -> None:
        try:
            if embedded.revive():
                log.error("embedded Redis had died; started it again")
        except EmbeddedRedisError as error:
            log.error("embedded Redis died and could not be started again (retrying): %s", error)

    return revive


def _worker_class() -> str:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


if __name__ == "__main__":
    sys.exit(main())
