"""`guardrail generate`: deterministic, valid, time-ordered, realistic and bounded streams."""

from __future__ import annotations

import json
import re
import tracemalloc
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from guardrail.cli.main import main
from guardrail.core.records import CHANNELS, TRIGGERS, Recommendation, parse_event
from guardrail.generate.stream import (
    GeneratorConfig,
    generate_events,
    generate_lines,
    generate_records,
    write_jsonl,
)

MERGE_TAG = re.compile(
    r"\[\s*[A-Za-z_][\w ]*\]|\{\{[^{}]*\}\}|\$\{[^{}]*\}|\{[A-Za-z_][\w.]*\}|%[A-Z][A-Z0-9_]*%"
    r"|\*\|[A-Z0-9_]+\|\*|<\s*[a-z]+(?:_[a-z]+)+\s*>|\b(?:Hi|Hello|Dear|Hey) (?:|null|None|"
    r"undefined|N/A),"
)
SURVEILLANCE = re.compile(
    r"\bwe (?:noticed|saw) you\b|\byou were near\b|\byou just viewed\b", re.IGNORECASE
)
SMALL = GeneratorConfig(seed=7, customers=300, events=4000)


@pytest.fixture(scope="module")
def default_stream() -> list[dict]:
    return list(generate_events(GeneratorConfig()))


def _recs(events: list[dict]) -> list[dict]:
    return [e for e in events if e["type"] == "recommendation"]


def test_same_seed_gives_identical_output_and_different_seeds_differ() -> None:
    first = list(generate_lines(SMALL))
    assert first == list(generate_lines(SMALL))
    other = list(generate_lines(GeneratorConfig(seed=8, customers=300, events=4000)))
    assert other != first
    assert len(first) == len(other) == 4000


def test_every_line_validates_as_its_record(default_stream: list[dict]) -> None:
    assert len(default_stream) == GeneratorConfig().events
    for event in default_stream:
        parse_event(event["type"], event)
    kinds = Counter(e["type"] for e in default_stream)
    assert set(kinds) == {"purchase", "location", "browsing", "profile", "recommendation"}


def test_generate_records_yields_validated_records() -> None:
    pairs = list(generate_records(GeneratorConfig(events=500)))
    assert len(pairs) == 500
    assert any(isinstance(record, Recommendation) for _kind, record in pairs)


def test_ts_is_non_decreasing_and_spans_the_configured_days(default_stream: list[dict]) -> None:
    stamps = [e["ts"] for e in default_stream]
    assert stamps == sorted(stamps)
    cfg = GeneratorConfig()
    span_days = (stamps[-1] - cfg.start_ms) / 86_400_000
    assert 80 <= span_days <= 92
    assert stamps[0] >= cfg.start_ms


@pytest.mark.parametrize("share", [0.0, 0.1, 0.2, 0.5])
def test_recommendation_share_is_within_tolerance(share: float) -> None:
    cfg = GeneratorConfig(seed=3, events=5000, recommendation_share=share)
    recs = len(_recs(list(generate_events(cfg))))
    assert abs(recs / cfg.events - share) <= 0.02


def test_share_one_is_recommendations_plus_only_the_signals_they_need() -> None:
    events = list(generate_events(GeneratorConfig(seed=3, events=5000, recommendation_share=1.0)))
    assert len(_recs(events)) >= 0.6 * len(events)
    assert not [e for e in events if e["type"] == "browsing" and e["action"] == "remove_from_cart"]


def test_every_channel_and_trigger_is_present(default_stream: list[dict]) -> None:
    recs = _recs(default_stream)
    assert {r["channel"] for r in recs} == set(CHANNELS)
    assert {r["trigger"] for r in recs} == set(TRIGGERS)
    assert any(r["life_event"] for r in recs)
    assert any(r["deliver_after"] for r in recs)
    assert any(r["based_on"] for r in recs)


def test_realistic_signals(default_stream: list[dict]) -> None:
    by_type: dict[str, list[dict]] = {}
    for event in default_stream:
        by_type.setdefault(event["type"], []).append(event)
    assert all(re.fullmatch(r"c-\d{6}", e["customer_id"]) for e in default_stream)
    profiles = by_type["profile"]
    assert any(p["first_name"] is None and p["timezone"] for p in profiles)
    zones = {p["timezone"] for p in profiles if p["timezone"]}
    assert "UTC" in zones
    assert all(any(z.startswith(r) for z in zones) for r in ("Europe/", "America/", "Asia/"))
    assert any(p["erase"] for p in profiles)
    consents = [p["consent"] for p in profiles if p["consent"]]
    assert any(c["location_marketing"] for c in consents)
    assert any(c["sensitive_categories"] for c in consents)
    assert any(not c["personalization"] for c in consents)
    assert any(p["channel_opt_outs"] for p in profiles)
    assert any(p["declared_life_events"] for p in profiles)
    purchases = by_type["purchase"]
    assert any(p["gift"] for p in purchases)
    cats = {i["category"] for p in purchases for i in p["items"]}
    assert {"electronics/laptops", "grocery/coffee", "home/toilet-seats"} <= cats
    assert {len(p["items"]) for p in purchases} >= {1, 2, 3}
    assert {b["action"] for b in by_type["browsing"]} == {
        "view",
        "search",
        "add_to_cart",
        "remove_from_cart",
    }
    assert any(b["query"] for b in by_type["browsing"] if b["action"] == "search")
    assert any(loc["place_name"] for loc in by_type["location"])
    assert any(loc["place_name"] is None for loc in by_type["location"])


def test_based_on_only_names_earlier_events_of_the_same_customer(
    default_stream: list[dict],
) -> None:
    seen: dict[str, str] = {}
    for event in default_stream:
        if event["type"] == "recommendation":
            for ref in event["based_on"]:
                assert seen.get(ref) == event["customer_id"], (event["rec_id"], ref)
        else:
            seen[event["event_id"]] = event["customer_id"]


def _copy(recs: list[dict]) -> list[str]:
    return [f"{r['title'] or ''} {r['body']}" for r in recs]


def test_failure_rate_zero_gives_no_creepy_copy() -> None:
    recs = _recs(list(generate_events(GeneratorConfig(seed=5, events=6000, failure_rate=0.0))))
    assert recs
    for text in _copy(recs):
        assert not MERGE_TAG.search(text), text
        assert not SURVEILLANCE.search(text), text


def test_failure_rate_zero_respects_consent_and_signals() -> None:
    """A small oracle for the consent-type rules: clean streams never break them."""
    consent: dict[str, dict] = {}
    opt_outs: dict[str, list[str]] = {}
    declared: dict[str, list[str]] = {}
    gifts: set[str] = set()
    erased: set[str] = set()
    checked = 0
    for e in generate_events(GeneratorConfig(seed=9, events=8000, failure_rate=0.0)):
        cid = e["customer_id"]
        if e["type"] == "profile":
            if e["erase"]:
                erased.add(cid)
                for table in (consent, opt_outs, declared):
                    table.pop(cid, None)
            if e["consent"] is not None:
                consent[cid] = e["consent"]
                erased.discard(cid)
            if e["channel_opt_outs"] is not None:
                opt_outs[cid] = e["channel_opt_outs"]
            if e["declared_life_events"] is not None:
                declared[cid] = e["declared_life_events"]
        elif e["type"] == "purchase" and e["gift"]:
            gifts.add(e["event_id"])
        elif e["type"] == "recommendation":
            checked += 1
            c = consent.get(
                cid,
                {"personalization": True, "location_marketing": False, "third_party_data": False},
            )
            sources = set(e["data_sources"])
            assert e["channel"] not in opt_outs.get(cid, []), e
            assert not (sources & {"third_party", "social"}) or c["third_party_data"], e
            assert (
                not ("location" in sources or e["trigger"] == "location") or c["location_marketing"]
            ), e
            assert not sources or (c["personalization"] and cid not in erased), e
            assert e["life_event"] is None or e["life_event"] in declared.get(cid, []), e
            assert not set(e["based_on"]) & gifts, e
    assert checked > 1000


def test_failure_rate_one_gives_many_creepy_recommendations() -> None:
    recs = _recs(list(generate_events(GeneratorConfig(seed=5, events=6000, failure_rate=1.0))))
    texts = _copy(recs)
    tags = sum(1 for t in texts if MERGE_TAG.search(t))
    creepy = sum(1 for t in texts if SURVEILLANCE.search(t))
    assert tags >= len(recs) * 0.03
    assert creepy >= len(recs) * 0.02
    night = [r for r in recs if r["channel"] in ("push", "sms")]
    assert len(night) >= len(recs) * 0.1


def test_bad_lines_are_extra_strings_and_leave_valid_lines_unchanged() -> None:
    cfg = GeneratorConfig(seed=11, events=2000, bad_line_rate=0.05)
    lines = list(generate_lines(cfg))
    clean = list(generate_lines(GeneratorConfig(seed=11, events=2000)))
    bad = []
    good = []
    for line in lines:
        try:
            data = json.loads(line)
            parse_event(data["type"], data)
            good.append(line)
        except Exception:
            bad.append(line)
    assert good == clean
    assert 40 <= len(bad) <= 170


def test_memory_stays_bounded_for_long_streams() -> None:
    cfg = GeneratorConfig(seed=1, customers=2000, events=200_000)
    tracemalloc.start()
    try:
        count = sum(1 for _ in generate_events(cfg))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 200_000
    assert peak < 25 * 1024 * 1024, peak


def test_config_rejects_bad_values() -> None:
    with pytest.raises(ValueError):
        GeneratorConfig(customers=0)
    with pytest.raises(ValueError):
        GeneratorConfig(failure_rate=1.5)
    with pytest.raises(ValueError):
        GeneratorConfig(days=0)


def test_write_jsonl_writes_lines_and_reports_progress(tmp_path: Path) -> None:
    out = tmp_path / "events.jsonl"
    calls: list[int] = []
    count = write_jsonl(SMALL, out, progress=calls.append, progress_every=1000)
    assert count == 4000
    assert calls == [1000, 2000, 3000, 4000]
    assert out.read_text(encoding="utf-8").splitlines() == list(generate_lines(SMALL))


def test_cli_writes_to_stdout_and_file(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["generate", "--events", "50", "--customers", "10"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 50
    out = tmp_path / "e.jsonl"
    result = runner.invoke(
        main, ["generate", "--events", "50", "--customers", "10", "--out", str(out)]
    )
    assert result.exit_code == 0
    assert out.read_text(encoding="utf-8").splitlines() == lines


@pytest.mark.parametrize(
    "args", [["--failure-rate", "2"], ["--customers", "0"], ["--days", "0"], ["--events", "-1"]]
)
def test_cli_rejects_bad_values(args: list[str]) -> None:
    result = CliRunner().invoke(main, ["generate", *args])
    assert result.exit_code == 2
    assert "Invalid value" in result.output


def test_every_contract_v2_case_is_generated(default_stream: list[dict]) -> None:
    from guardrail.core.policy import default_policy
    from guardrail.core.replay import Replayer

    recs = _recs(default_stream)
    transactional = [r for r in recs if r["message_class"] == "transactional"]
    assert transactional and all(r["trigger"] == "purchase" for r in transactional)
    assert any(r["channel"] == "push" for r in transactional)
    assert {r["priority"] for r in recs} >= {90, 50}  # cart reminders over generic promotions
    assert any(r["expires_at"] is not None for r in recs)
    assert any(r["title"] and r["title"].startswith("New ") for r in recs)  # naming titles
    assert any(r["body"].startswith("Dear [First Name], we") for r in recs)
    lines = [json.dumps(e) for e in default_stream]
    decisions = list(Replayer(default_policy()).replay_lines(lines))
    details = [r.detail for d in decisions for r in d.reasons]
    codes = Counter(r.code for d in decisions for r in d.reasons)
    assert codes["expired"] > 0
    assert any("naming a dropped item" in detail for detail in details)
    assert any("the title names a dropped item" in detail for detail in details)
    kept_greeting = [
        d
        for d in decisions
        if d.recommendation is not None
        and any(r.code == "too_granular" for r in d.reasons)
        and d.recommendation.body.startswith(("Hi ", "Hello", "Hey ", "Dear "))
    ]
    assert kept_greeting
