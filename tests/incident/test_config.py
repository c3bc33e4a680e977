"""The config decoder: the shipped file decodes; every bad file names the key, the problem and the line."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incident.config import ConfigError, decode_config, load_config
from tests.support import CONFIG

SHIPPED = CONFIG.read_text()


def _line(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the n-th line containing `needle`."""
    hits = [number for number, line in enumerate(text.splitlines(), 1) if needle in line]
    return hits[occurrence - 1]


def test_shipped_config_decodes() -> None:
    """The config in the repository is valid and describes Buffalo with all seven categories."""
    config = load_config(CONFIG)
    assert config.jurisdiction.id == "buffalo"
    assert [c.code for c in config.categories] == [
        "emergency",
        "debris",
        "shelter_transport",
        "medical_referral",
        "utility",
        "welfare_check",
        "general",
    ]
    assert config.category("emergency") is not None
    assert config.category("emergency").default_priority == "P1"  # type: ignore[union-attr]


DATA_MAPPINGS = {  # mappings whose keys are data (question ids, priorities, category codes), not settings
    "answers",
    "raise_at",
    "scripts",
    "deadline_minutes",
    "category_deadline_minutes",
    "stand_down_categories",
}


def test_every_key_is_commented() -> None:
    """Each key of the shipped config has a comment just above it or is explained by name in one."""
    lines = SHIPPED.splitlines()
    root = yaml.compose(SHIPPED)
    assert root is not None
    keys: list[tuple[str, int]] = []

    def walk(node: yaml.Node) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                keys.append((key.value, key.start_mark.line))
                if key.value not in DATA_MAPPINGS:
                    walk(value)
        elif isinstance(node, yaml.SequenceNode):
            for item in node.value:
                walk(item)

    walk(root)
    comments = " ".join(line.split("#", 1)[1] for line in lines if "#" in line)
    explained = set(re.findall(r"[a-z_]+", comments))
    for name, index in keys:
        above = lines[max(0, index - 3) : index]
        commented = "#" in lines[index] or any(line.strip().startswith("#") for line in above)
        assert commented or name in explained, f"key {name!r} on line {index + 1} has no comment"


@pytest.mark.parametrize(
    ("mutate", "path", "needle", "problem", "occurrence"),
    [
        (
            lambda t: t.replace("number_digits:", "number_digit:"),
            "tickets.number_digit",
            "number_digit:",
            "unknown key",
            1,
        ),
        (
            lambda t: t.replace("default_priority: P3", "default_priority: P9", 1),
            "categories[1].default_priority",
            "P9",
            "Invalid enum",
            1,
        ),
        (
            lambda t: t.replace("  max_body_bytes: 65536\n", ""),
            "intake.max_body_bytes",
            "intake:",
            "missing required key",
            1,
        ),
        (
            lambda t: t.replace("number_digits: 6", "number_digits: six"),
            "tickets.number_digits",
            "number_digits",
            "Expected `int`",
            1,
        ),
        (
            lambda t: t.replace("number_digits: 6", "number_digits: 2"),
            "tickets.number_digits",
            "number_digits",
            ">= 4",
            1,
        ),
        (
            lambda t: t.replace("America/New_York", "America/Gotham"),
            "jurisdiction.timezone",
            "America/Gotham",
            "unknown time zone",
            1,
        ),
        (
            lambda t: t.replace("default_category: general", "default_category: misc"),
            "intake.default_category",
            "default_category",
            "not one of",
            1,
        ),
        (
            lambda t: t.replace("- code: utility", "- code: debris"),
            "categories[4].code",
            "code: debris",
            "duplicate code",
            2,
        ),
        (
            lambda t: t.replace("id: buffalo", "id: Buffalo City"),
            "jurisdiction.id",
            "Buffalo City",
            "matching regex",
            1,
        ),
        (lambda t: t + "tickets:\n  number_digits: 5\n", "tickets", "tickets:", "twice", 2),
        (
            lambda t: t.replace(
                "stand_down_categories: {emergency: general}", "stand_down_categories: {emergency: genral}"
            ),
            "modes.stand_down_categories.emergency",
            "stand_down_categories:",
            "'genral' is not a category",
            1,
        ),
        (
            lambda t: t.replace("services: [debris, utility,", "services: [debris, emergency,"),
            "open311.services[1]",
            "services: [debris, emergency",
            "'emergency' is 911's",
            1,
        ),
        (
            lambda t: t.replace("services: [debris, utility,", "services: [debris, potholes,"),
            "open311.services[1]",
            "services: [debris, potholes",
            "not one of the categories",
            1,
        ),
        (
            lambda t: t.replace("baseline_hours: 24", "baseline_hours: 672"),
            "modes.surge.baseline_hours",
            "baseline_hours: 672",
            "<= 168",
            1,
        ),
    ],
)
def test_bad_config_names_key_problem_and_line(mutate, path, needle, problem, occurrence) -> None:  # type: ignore[no-untyped-def]
    """A broken config raises one error naming the key path, the problem and the right line."""
    text = mutate(SHIPPED)
    with pytest.raises(ConfigError) as caught:
        decode_config(text, source="city.yaml")
    message = str(caught.value)
    assert "\n" not in message
    assert f": {path}: " in message
    assert problem in message
    assert message.startswith(f"city.yaml:{_line(text, needle, occurrence)}: "), message


def test_invalid_yaml_names_the_line() -> None:
    """A YAML syntax error is reported with the line where the parser stopped."""
    text = SHIPPED.replace("tickets:\n", "tickets: [\n", 1)
    with pytest.raises(ConfigError, match=r"^x\.yaml:\d+: \(top level\): not valid YAML"):
        decode_config(text, source="x.yaml")


def test_empty_and_unreadable_files_are_errors(tmp_path: Path) -> None:
    """An empty file and a missing file are both reported, not crashed on."""
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(ConfigError, match="empty"):
        load_config(empty)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "incident.cli", *args], capture_output=True, text=True, env=env, check=False
    )


def test_check_config_command_ok() -> None:
    """`stormline check-config FILE` exits 0 for the shipped config."""
    result = _cli("check-config", str(CONFIG))
    assert result.returncode == 0, result.stderr
    assert "ok" in result.stdout


def test_check_config_command_exits_2_with_one_line(tmp_path: Path) -> None:
    """`stormline check-config` on a bad file exits 2 with one line naming key and line."""
    bad = tmp_path / "surge_config.yaml"
    bad.write_text(SHIPPED.replace("phone_region: US", "phone_regoin: US"))
    result = _cli("check-config", str(bad))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(
        f"{bad}:{_line(SHIPPED, 'phone_region')}: jurisdiction.phone_regoin: unknown key"
    )


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.just([]),
    st.just({}),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_decoder_never_crashes_on_mutated_config(data: st.DataObject) -> None:
    """Replacing any value of the config with any other value gives a valid config or a ConfigError."""
    tree = yaml.safe_load(SHIPPED)
    node = tree
    while True:
        if isinstance(node, dict):
            key = data.draw(st.sampled_from(sorted(node)))
        else:
            key = data.draw(st.integers(0, len(node) - 1))
        if isinstance(node[key], dict | list) and node[key] and data.draw(st.booleans()):
            node = node[key]
            continue
        node[key] = data.draw(scalars)
        break
    try:
        decode_config(yaml.safe_dump(tree))
    except ConfigError as error:
        message = str(error)
    else:
        return
    assert message.count("\n") == 0, "a config error is one line"


def _decodes_or_says_why_in_one_line(text: str) -> None:
    try:
        decode_config(text)
    except ConfigError as error:
        message = str(error)
    else:
        return
    assert "\n" not in message, "a config error is one line"


containers = st.recursive(
    scalars | st.floats() | st.text(alphabet=st.characters(codec="utf-8"), max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_decoder_never_crashes_on_restructured_config(data: st.DataObject) -> None:
    """Keys dropped or added, values swapped for NaN, lists or maps, several at once: a config or one line."""
    tree = yaml.safe_load(SHIPPED)
    for _ in range(data.draw(st.integers(1, 4))):
        node = tree
        while True:
            keys = sorted(node) if isinstance(node, dict) else list(range(len(node)))
            if not keys:
                break
            key = data.draw(st.sampled_from(keys))
            if isinstance(node[key], dict | list) and node[key] and data.draw(st.booleans()):
                node = node[key]
                continue
            change = data.draw(st.sampled_from(["drop", "add", "replace"]))
            if change == "drop":
                del node[key]
            elif change == "add" and isinstance(node, dict):
                node[data.draw(st.text(min_size=1, max_size=12))] = data.draw(containers)
            else:
                node[key] = data.draw(containers)
            break
    _decodes_or_says_why_in_one_line(yaml.safe_dump(tree, allow_unicode=True))


# YAML a person or a broken editor might leave in the file: unknown and unsafe tags, an alias that
# contains itself, nesting past Python's recursion limit, control characters, stray document markers.
NASTY_YAML = [
    "&loop [*loop]", "&loop {a: *loop}", "[" * 3000, "{a: " * 2000, "!!python/object:os.system x",
    "!!binary AAAA", "!!set {a}", "!custom x", "\x00", "\x07", "\t", "\ufeff", "\u2028", "*undefined",
    "{a: 1, a: 2}", "? [a, b]\n: c", ".nan", "-.inf", "1e999", "9" * 400, "'", '"', "|", ">-", "%YAML 1.1",
    "---", "...", ": :", "- - -", "~", "<<: *undefined", "<<: {a: 1}",
]  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    at=st.integers(0, len(SHIPPED)),
    cut=st.integers(0, 40),
    put=st.sampled_from(NASTY_YAML) | st.text(max_size=30),
)
def test_decoder_never_crashes_on_damaged_text(at: int, cut: int, put: str) -> None:
    """The file's text cut and spliced anywhere, with broken or hostile YAML: a config or a one-line error."""
    _decodes_or_says_why_in_one_line(SHIPPED[:at] + put + SHIPPED[at + cut :])


@pytest.mark.parametrize(
    "value",
    [
        "&loop [*loop]",
        "[" * 3000 + "]" * 3000,
        "!!python/object:os.system x",
        "!!binary A",
        "x\x00",
        "{[a]: b}",
        'US\n  "line\\nbreak": 1',  # an unknown key with a line break in it
    ],
)
def test_hostile_yaml_is_a_one_line_config_error(value: str) -> None:
    """Each of these escaped the decoder as a traceback, or as a two-line error (found by fuzzing)."""
    with pytest.raises(ConfigError) as raised:
        decode_config(SHIPPED.replace("phone_region: US", f"phone_region: {value}"))
    assert "\n" not in str(raised.value)
    assert str(raised.value).startswith("surge_config.yaml:")
