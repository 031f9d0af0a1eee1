"""The one unit grammar (linq.units): its properties, and the same strings read the same way on every surface —
the stack config, each CLI command that takes them (the real click commands, stopped before any network
call), and the Escrow resource's input validation — giving the same value or the same refusal."""

from __future__ import annotations

import ast
import inspect
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

import linq.units
from linq.chain.escrow_spec import normalise
from linq.cli import main
from linq.cli import providers as providers_cli
from linq.stackconfig import ConfigError, load_stack_config
from linq.units import (
    WEI_PER_LNQ,
    UnitError,
    format_cpu,
    format_duration,
    format_lnq,
    format_memory,
    format_rate,
    format_storage,
    parse_amount,
    parse_cpu,
    parse_duration,
    parse_memory,
    parse_rate,
    parse_storage,
)

# ---- properties of the grammar ----------------------------------------------------------------------------
WEI = st.integers(min_value=0, max_value=2**128)


@given(WEI)
def test_amounts_and_rates_round_trip(wei: int) -> None:
    assert parse_amount(format_lnq(wei)) == wei
    assert parse_amount(f"{wei} wei") == wei
    assert parse_rate(format_rate(wei)) == wei
    assert parse_rate(format_lnq(wei)) == wei  # a rate field may leave out "/h"


@given(st.integers(min_value=0, max_value=10**12))
def test_durations_round_trip(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds
    assert parse_duration(str(seconds)) == seconds  # quoted seconds


@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_sizes_round_trip(n: int) -> None:
    assert parse_cpu(format_cpu(n)) == n
    assert parse_memory(format_memory(n)) == n
    assert parse_storage(format_storage(n)) == n


@given(st.integers(min_value=1, max_value=10**30))
def test_a_bare_amount_shows_both_readings(n: int) -> None:
    for parse, per in ((parse_amount, ""), (parse_rate, "/h")):
        with pytest.raises(UnitError) as err:
            parse(str(n))
        text = str(err.value)
        assert f"{n} LNQ{per} = {n * WEI_PER_LNQ} wei{per} or {n} wei{per}" in text
        assert f"write '{n} LNQ{per}' or '{n} wei{per}'" in text


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_floats_are_refused_everywhere(value: float) -> None:
    for parse in (parse_amount, parse_rate, parse_duration, parse_cpu, parse_memory, parse_storage):
        with pytest.raises(UnitError, match="never a float"):
            parse(value)


def test_parsing_uses_no_floats() -> None:
    """No float literal, float() call or true division in the grammar: integer and digit-string math only."""
    tree = ast.parse(inspect.getsource(linq.units))
    for node in ast.walk(tree):
        assert not (isinstance(node, ast.Constant) and isinstance(node.value, float)), ast.dump(node)
        assert not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "float"), ast.dump(node)
        assert not (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div)), ast.dump(node)
    assert "decimal" not in {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}


def test_exact_beyond_double_precision() -> None:
    assert parse_amount("123456789.123456789123456789 LNQ") == 123456789123456789123456789
    assert parse_rate("0.000000000000000001 LNQ/h") == 1


# ---- the same strings on every surface --------------------------------------------------------------------
KEY = "0x" + "11" * 32  # a throwaway key for offline offer signing (no chain)
ESCROW = "0x" + "22" * 20
PROVIDER = "0x82F61B3A82f745e567b0349Bf327625c6547138E"
Outcome = tuple[str, Any]  # ("value", int) or ("refused", the message after the field name)


def _expected(parse: Callable[..., int], text: str) -> Outcome:
    try:
        return ("value", parse(text, field="x"))
    except UnitError as err:
        return ("refused", str(err).split(": ", 1)[1])


def _stack(deployment: dict[str, Any]) -> Outcome:
    base = {
        "name": "web",
        "image": "nginx:1.27.0",
        "duration": "24h",
        "resources": {"cpu": "1", "memory": "1Gi", "storage": "1Gi"},
    }
    try:
        # the unit grammar is under test, not the stack's sanity ceiling (linq:limits), raised explicitly here
        limits = {"maxDuration": "100000d", "maxDeposit": f"{2**96} wei"}
        config = load_stack_config({"deployments": [{**base, **deployment}], "limits": limits})
    except ConfigError as err:
        return ("refused", str(err))
    return ("value", config.deployments[0])


def _escrow(change: dict[str, Any], pick: Callable[[dict[str, Any]], Any], field: str) -> Outcome:
    raw = {
        "provider": PROVIDER,
        "resources": {"cpu": "1", "memory": "1Gi"},
        "duration": "1h",
        "salt_seed": "s",
        **change,
    }
    norm, failures = normalise(raw)
    hit = [f.reason for f in failures if f.field.startswith(field)]
    return ("refused", hit[0]) if hit else ("value", int(pick(norm)))


def _cli(args: list[str], env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(main, args, env={"LINQ_PRIVATE_KEY": KEY, **(env or {})})


def _offer(*flags: str) -> Outcome:
    out = _cli(
        [
            "offer",
            "sign",
            "--chain-id",
            "31337",
            "--escrow",
            ESCROW,
            "--rate",
            "1 LNQ/h",
            "--cpu",
            "1",
            "--memory",
            "1Gi",
            "--storage",
            "1Gi",
            *flags,
        ]
    )
    if out.exit_code != 0:
        return ("refused", out.output)
    return ("value", json.loads(out.output)["offer"])


def _match(*flags: str) -> Outcome:
    """`linq providers match`: the requirements it built (the index is never opened)."""
    seen: list[Any] = []
    real = providers_cli.read_requirements

    def spy(**kwargs: Any) -> Any:
        seen.append(real(**kwargs))
        raise SystemExit(9)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(providers_cli, "read_requirements", spy)
        out = _cli(["providers", "match", "--cpu", "1", *flags])
    return ("value", seen[0]) if seen else ("refused", out.output)


def _top_up(amount: str) -> Outcome:
    """`linq escrow top-up`: the wei it would send (the client and chain calls are replaced)."""
    from linq.cli import escrow as escrow_cli

    sent: list[int] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(escrow_cli, "chain_client", lambda *a, **k: object())
        mp.setattr(escrow_cli, "_terms", lambda *a, **k: object())
        mp.setattr(escrow_cli.ops, "top_up", lambda _c, _t, wei: sent.append(wei) or {})
        mp.setattr(escrow_cli, "_show", lambda *a, **k: None)
        out = _cli(["escrow", "top-up", "--yes", "0x" + "ab" * 32, "--", amount])
    return ("value", sent[0]) if sent else ("refused", out.output)


def _guard(*flags: str) -> Outcome:
    """`linq runway guard --escrow`: the policy it would apply (no client, no chain)."""
    from linq.cli import runway as runway_cli

    seen: list[Any] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runway_cli, "chain_client", lambda *a, **k: object())
        mp.setattr(runway_cli, "guard_once", lambda _c, policies, _l: seen.append(policies) or [])
        out = _cli(
            [
                "runway",
                "guard",
                "--escrow",
                "0x" + "ab" * 32,
                "--once",
                "--below",
                "1h",
                "--amount",
                "1 LNQ",
                "--cap",
                "100000000000 LNQ",
                *flags,
            ]
        )
    return ("value", next(iter(seen[0].values()))) if seen else ("refused", out.output)


def _register(flag: str, text: str, key: str) -> Outcome:
    """`linq provider register`: the value it would register (stopped before the client is made)."""
    from linq.cli import provider as provider_cli

    seen: list[dict[str, Any]] = []

    def spy(**kwargs: Any) -> Any:
        seen.append(kwargs)
        raise SystemExit(9)

    flags = {
        "--cpu": "16",
        "--memory": "64Gi",
        "--storage": "500Gi",
        "--price-cpu": "1 wei/h",
        "--price-memory": "1 wei/h",
        "--price-storage": "1 wei/h",
        "--region": "eu",
        "--meta": "m",
    }
    flags[flag] = text
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(provider_cli.reg, "spec", spy)
        out = _cli(["provider", "register", *[x for pair in flags.items() for x in pair]])
    return ("value", seen[0][key]) if seen else ("refused", out.output)


def _render(kind: str, text: str) -> Outcome:
    """`linq render` of a custom image with explicit resources: the quota it renders, read back."""
    import yaml

    from linq.units import kube_cpu_millis, kube_memory_bytes

    sizes = {"cpu": "1", "memory": "1Gi", kind: text}
    out = _cli(
        [
            "render",
            "--image",
            "ghcr.io/example/api:1.4.2",
            "--port",
            "http:8000",
            "--name",
            "api",
            "--cpu",
            sizes["cpu"],
            "--memory",
            sizes["memory"],
        ]
    )
    if out.exit_code != 0:
        return ("refused", out.output)
    hard = next(d for d in yaml.safe_load_all(out.output) if d["kind"] == "ResourceQuota")["spec"]["hard"]
    if kind == "cpu":
        return ("value", kube_cpu_millis(hard["limits.cpu"]))
    return ("value", kube_memory_bytes(hard["limits.memory"]) // 2**20)


def _agent(*flags: str, tmp: Path) -> Outcome:
    """`linq provider agent`: refused with exit 2, or accepted and stopped at the missing address book (exit 3)."""
    out = _cli(["provider", "agent", "--rpc", "http://127.0.0.1:9", "--addresses", str(tmp / "none.json"), *flags])
    return ("refused", out.output) if out.exit_code == 2 else ("value", out.exit_code)


AMOUNTS = [
    "1.5 LNQ",
    "1500 wei",
    "2LNQ",
    "0.000000000000000001 LNQ",
    "123456789.123456789123456789 lnq",
    "1000",
    "1.5",
    "1e18",
    "1.5 wei",
    "0.1234567890123456789 LNQ",
    "-3 LNQ",
    "1 LNQ/h",
]
RATES = ["0.01 LNQ/h", "0.01 LNQ", "10 wei/h", "10 wei per hour", "2 LNQ/hour", "1000", "0.5", "cheap"]
DURATIONS = ["90m", "1h30m", "24h", "7d", "3600", "1d 12h", "soon", "1y", "-1h", "1.5h"]
CPUS = ["0.5", "500m", "2", "2 cores", "1500", "1.5m", "two"]
MEMORIES = ["512Mi", "4Gi", "1.5Gi", "512", "4GB", "1.0001Gi"]
STORAGES = ["20Gi", "1Ti", "20", "20GB", "0.5Gi"]


def _same(expected: Outcome, got: Outcome, surface: str) -> None:
    if expected[0] == "value":
        assert got == expected, f"{surface}: {got}"
    else:
        assert got[0] == "refused" and expected[1] in got[1], f"{surface}: expected refusal {expected[1]!r}, got {got}"


@pytest.mark.parametrize("text", AMOUNTS)
def test_amounts_read_the_same_everywhere(text: str, tmp_path: Path) -> None:
    want = _expected(parse_amount, text)
    v = want[1] if want[0] == "value" else None

    def value(outcome: Outcome, pick: Callable[[Any], Any]) -> Outcome:
        return ("value", pick(outcome[1])) if outcome[0] == "value" else outcome

    _same(want, value(_stack({"deposit": text}), lambda d: d.deposit), "stack deposit")
    topup = _stack({"autoTopUp": {"below": "1h", "amount": text, "cap": "100000000000 LNQ"}})
    _same(want, value(topup, lambda d: d.auto_top_up.amount), "stack autoTopUp.amount")
    _same(want, _escrow({"deposit": text}, lambda n: n["deposit"], "deposit"), "Escrow deposit")
    _same(want, _top_up(text), "linq escrow top-up")
    _same(want, value(_guard("--amount", text), lambda p: p.amount), "linq runway guard --amount")
    _same(want, value(_match("--max-total", text), lambda r: r.max_total), "linq providers match --max-total")
    agent = _agent("--min-withdraw", text, tmp=tmp_path)
    _same(want, ("value", v) if agent == ("value", 3) else agent, "linq provider agent --min-withdraw")


@pytest.mark.parametrize("text", RATES)
def test_rates_read_the_same_everywhere(text: str) -> None:
    want = _expected(parse_rate, text)
    stack = _stack({"maxPricePerHour": text})
    _same(want, ("value", stack[1].max_price_per_hour) if stack[0] == "value" else stack, "stack maxPricePerHour")
    escrow = _escrow({"max_rate_per_hour": text}, lambda n: n["max_rate_per_hour"], "max_rate_per_hour")
    _same(want, escrow, "Escrow max_rate_per_hour")
    match = _match("--max-price", text)
    _same(want, ("value", match[1].max_price_per_hour) if match[0] == "value" else match, "--max-price")
    offer = _offer("--rate", text)
    _same(want, ("value", int(offer[1]["ratePerHour"])) if offer[0] == "value" else offer, "offer sign --rate")
    _same(want, _register("--price-cpu", text, "price_cpu"), "provider register --price-cpu")


@pytest.mark.parametrize("text", DURATIONS)
def test_durations_read_the_same_everywhere(text: str, tmp_path: Path) -> None:
    want = _expected(parse_duration, text)
    stack = _stack({"duration": text})
    _same(want, ("value", stack[1].duration) if stack[0] == "value" else stack, "stack duration")
    below = _stack({"autoTopUp": {"below": text, "amount": "1 LNQ", "cap": "2 LNQ"}})
    _same(want, ("value", below[1].auto_top_up.below) if below[0] == "value" else below, "stack autoTopUp.below")
    _same(want, _escrow({"duration": text}, lambda n: n["duration"], "duration"), "Escrow duration")
    match = _match("--duration", text)
    _same(want, ("value", match[1].duration_seconds) if match[0] == "value" else match, "match --duration")
    for flag, key in (("--min-duration", "minDuration"), ("--max-duration", "maxDuration")):
        flags = [flag, text] if flag == "--max-duration" else [flag, text, "--max-duration", "9999d"]
        offer = _offer(*flags)
        _same(want, ("value", int(offer[1][key])) if offer[0] == "value" else offer, f"offer sign {flag}")
    guard = _guard("--below", text)
    _same(want, ("value", guard[1].below_seconds) if guard[0] == "value" else guard, "runway guard --below")
    agent = _agent("--withdraw-every", text, tmp=tmp_path)
    _same(want, ("value", want[1]) if agent == ("value", 3) else agent, "provider agent --withdraw-every")


@pytest.mark.parametrize(
    ("kind", "text"),
    [("cpu", t) for t in CPUS] + [("memory", t) for t in MEMORIES] + [("storage", t) for t in STORAGES],
)
def test_sizes_read_the_same_everywhere(kind: str, text: str) -> None:
    parse, exact, offer_key = {
        "cpu": (parse_cpu, "cpu_millis", "cpuMillis"),
        "memory": (parse_memory, "memory_mib", "memoryMiB"),
        "storage": (parse_storage, "storage_gib", "storageGiB"),
    }[kind]
    want = _expected(parse, text)
    stack = _stack({"resources": {"cpu": "1", "memory": "1Gi", "storage": "1Gi", kind: text}})
    _same(want, ("value", getattr(stack[1].resources, exact)) if stack[0] == "value" else stack, f"stack {kind}")
    escrow = _escrow(
        {"resources": {"cpu": "1", "memory": "1Gi", kind: text}}, lambda n: n["resources"][exact], f"resources.{kind}"
    )
    _same(want, escrow, f"Escrow resources.{kind}")
    match = _match(f"--{kind}", text)
    _same(want, ("value", getattr(match[1], exact)) if match[0] == "value" else match, f"match --{kind}")
    offer = _offer(f"--{kind}", text)
    _same(want, ("value", int(offer[1]["resources"][offer_key])) if offer[0] == "value" else offer, f"offer --{kind}")
    _same(want, _register(f"--{kind}", text, kind), f"provider register --{kind}")
    if kind != "storage":
        _same(want, _render(kind, text), f"linq render --{kind}")
