"""`stormline users …` and `stormline tokens …`: accounts and API tokens from the command line.

The first admin is created here (there is no default account or password). Commands reach Redis the
way the server does: STORMLINE_REDIS_URL if set; else the embedded server of the running Stormline on
this data folder; else an embedded server started just for the command.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import yaml
from tqdm import tqdm

from dispatch import agencies
from dispatch.agencies import ImportError_ as AgencyImportError
from dispatch.reindex import rebuild
from geo.build import GeoBuildError
from geo.importers import ImportError_
from incident import center, cli_geo, exercise
from incident.auth import accounts
from incident.auth.roles import PEOPLE, Role
from incident.config import ConfigError, SurgeConfig, load_config
from incident.embedded import EmbeddedRedis, EmbeddedRedisError, FolderInUse, answers
from incident.geocoding import open_service
from incident.outbound import Policy
from incident.problems import Problem
from incident.registry import Registry
from incident.settings import Settings
from incident.store import Store, connect, disconnect
from incident.triage import Engine
from incident.triage.model import configured
from incident.write_steps import open_store


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    users = commands.add_parser("users", help="accounts for people").add_subparsers(
        dest="action", required=True
    )
    add = users.add_parser("add", help="create an account (password at a prompt, or --password-stdin)")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=sorted(PEOPLE))
    add.add_argument("--crew", help="the crew a crew account belongs to")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    for action, text in (
        ("disable", "stop an account signing in (ends its sessions)"),
        ("enable", "allow it again"),
    ):
        users.add_parser(action, help=text).add_argument("name")
    reset = users.add_parser("reset-password", help="set a new password (ends the account's sessions)")
    reset.add_argument("name")
    reset.add_argument("--password-stdin", action="store_true")
    role = users.add_parser("set-role", help="change an account's role (ends its sessions)")
    role.add_argument("name")
    role.add_argument("role", choices=sorted(PEOPLE))
    role.add_argument("--crew")
    users.add_parser("list", help="list accounts")
    drill = commands.add_parser("drill", help="drills: play a scripted storm").add_subparsers(
        dest="action", required=True
    )
    play = drill.add_parser(
        "run", help="play a scripted storm (YAML) into the drill, starting one if none runs"
    )
    play.add_argument("path", help="the script: calls and calldowns at offsets, and speed (see the README)")
    play.add_argument("--name", help="the drill's name, when one is started")
    registry = commands.add_parser(
        "registry", help="the registry of residents who need help in an emergency"
    ).add_subparsers(dest="action", required=True)
    load = registry.add_parser("import", help="import a CSV list (named columns; see the README)")
    load.add_argument("path", help="the CSV file (UTF-8)")
    load.add_argument("--source", required=True, help="the list's name: importing it again updates its rows")

    tokens = commands.add_parser("tokens", help="API tokens for machines").add_subparsers(
        dest="action", required=True
    )
    create = tokens.add_parser("create", help="create a token and print it once")
    create.add_argument("name")
    create.add_argument("--role", required=True, choices=sorted(Role))
    create.add_argument("--crew")
    tokens.add_parser("revoke", help="revoke a token: it stops working at once").add_argument("name")
    tokens.add_parser("list", help="list tokens (never their secrets)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    try:
        config = load_config(settings.config)
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    try:
        return asyncio.run(_run(args, settings, config))
    except (
        accounts.AccountError,
        EmbeddedRedisError,
        ImportError_,
        AgencyImportError,
        GeoBuildError,
        OSError,
    ) as error:
        print(f"stormline: {error}", file=sys.stderr)
        return 1


async def _run(args: argparse.Namespace, settings: Settings, config: SurgeConfig) -> int:
    actor = f"cli:{getpass.getuser()}"
    min_length = config.security.min_password_length
    async with _store(settings, config) as store:
        if args.command == "geo":
            return await cli_geo.run(args, store, config)
        if args.command == "drill":
            return await _run_drill(store, config, settings, Path(args.path), args.name, actor)
        if args.command == "registry":
            return await _import_registry(store, config, settings, Path(args.path), args.source, actor)
        if args.command == "agencies":
            services = agencies.read_package(Path(args.path))
            policy = Policy.allowing(config.referrals.allow_private)
            print(f"{await agencies.load(store, services, actor, policy)} services loaded into the directory")
            return 0
        if args.command == "dispatch":
            total = int(await store.redis.zcard(store.keys.all_incidents))
            with tqdm(total=total, desc="incidents", unit="incident") as bar:

                def tick(done: int) -> None:
                    bar.update(done)

                counts = await rebuild(store, tick)
            print(", ".join(f"{name}: {count}" for name, count in counts.items()))
            return 0
        if args.command == "tokens":
            if args.action == "create":
                _, secret = await accounts.create_token(
                    store, args.name, Role(args.role), crew_id=args.crew, actor=actor
                )
                print(secret)
                print("Store this token now: it is not kept and cannot be shown again.", file=sys.stderr)
            elif args.action == "revoke":
                await accounts.revoke_token(store, args.name, actor=actor)
                print(f"revoked {args.name}")
            else:
                for token in await accounts.list_tokens(store):
                    crew = f" crew={token.crew_id}" if token.crew_id else ""
                    created = f"{token.created_at:%Y-%m-%d %H:%M} by {token.created_by}"
                    print(f"{token.name}\t{token.role}{crew}\tcreated {created}")
            return 0
        if args.action == "add":
            password = _password(args.password_stdin)
            await accounts.create_user(
                store,
                args.name,
                Role(args.role),
                password,
                crew_id=args.crew,
                actor=actor,
                min_length=min_length,
            )
            print(f"created {args.name} ({args.role})")
        elif args.action in ("disable", "enable"):
            await accounts.change_user(store, args.name, actor=actor, disabled=args.action == "disable")
            print(f"{args.action}d {args.name}")
        elif args.action == "reset-password":
            password = _password(args.password_stdin)
            await accounts.change_user(
                store, args.name, actor=actor, password=password, min_length=min_length
            )
            print(f"new password set for {args.name}")
        elif args.action == "set-role":
            await accounts.change_user(store, args.name, actor=actor, role=Role(args.role), crew_id=args.crew)
            print(f"{args.name} is now {args.role}")
        else:
            for user in await accounts.list_users(store):
                state = " (disabled)" if user.disabled else ""
                crew = f" crew={user.crew_id}" if user.crew_id else ""
                print(f"{user.name}\t{user.role}{crew}{state}")
    return 0


async def _run_drill(
    store: Store, config: SurgeConfig, settings: Settings, path: Path, name: str | None, actor: str
) -> int:
    text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    try:
        script = msgspec.convert(yaml.safe_load(text) or {}, exercise.Script)
    except (yaml.YAMLError, msgspec.ValidationError) as error:
        print(f"stormline: {path}: {error}", file=sys.stderr)
        return 2
    state = await center.current(store)
    if state.drill is not None:
        drill = await exercise.get(store, state.drill.id)
    elif name:
        drill = await exercise.start(store, name, actor)
    else:
        print("stormline: no drill is running: give --name to start one", file=sys.stderr)
        return 1
    config_dir = await asyncio.to_thread(lambda: Path(settings.config).resolve().parent)
    geo = await open_service(store, config, config_dir)
    with tqdm(desc=f"drill {drill.id}", unit="step") as bar:

        def tick(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        played = await exercise.play(
            store,
            config,
            script,
            drill,
            geo=geo,
            triage=Engine(config, configured(config, settings.config)),
            progress=tick,
        )
    print(f"{played} steps played into drill {drill.id}; stop it with POST /api/v1/exercise/stop")
    return 0


async def _import_registry(
    store: Store, config: SurgeConfig, settings: Settings, path: Path, source: str, actor: str
) -> int:
    config_dir = await asyncio.to_thread(lambda: Path(settings.config).resolve().parent)
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,79}", source):
        print("stormline: --source: letters, digits, spaces, '.', '_' and '-' (up to 80)", file=sys.stderr)
        return 2
    try:
        text = await asyncio.to_thread(path.read_text, encoding="utf-8-sig")
    except UnicodeDecodeError:
        print(f"stormline: {path}: not UTF-8 text (save the list as CSV UTF-8)", file=sys.stderr)
        return 2
    geo = await open_service(store, config, config_dir)
    registry = Registry(store, config, geo)
    with tqdm(desc="residents", unit="row") as bar:

        def tick(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        try:
            result = await registry.import_csv(text, source, actor, tick)
        except Problem as problem:
            print(f"stormline: {path}: {problem.detail}", file=sys.stderr)
            return 1
    print(
        f"{result.registered} registered, {result.updated} updated, {result.unplaced} without a place "
        f"(a coordinator sets it), {len(result.refused)} refused"
    )
    for refused in result.refused:
        print(f"{path}:{refused.line}: {refused.column or 'row'}: {refused.problem}", file=sys.stderr)
    return 1 if result.refused else 0


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise accounts.AccountError("the two passwords differ")
    return first


@contextlib.asynccontextmanager
async def _store(settings: Settings, config: SurgeConfig) -> AsyncIterator[Store]:
    embedded: EmbeddedRedis | None = None
    url = settings.redis_url
    if not url:
        embedded = EmbeddedRedis(settings.data_dir, settings.redis_server)
        try:
            embedded.start()
        except FolderInUse:
            embedded = None  # a Stormline is running on this folder: use its server
            if not answers(EmbeddedRedis(settings.data_dir).socket_path):
                raise
        url = f"unix://{EmbeddedRedis(settings.data_dir).socket_path}" if embedded is None else embedded.url
    redis = connect(url)
    try:
        yield open_store(redis, config.jurisdiction.id)
    finally:
        await disconnect(redis)
        if embedded is not None:
            embedded.stop()
