"""`guardrail bench engine`: the pure decision core alone, on one core, no broker.

Events are generated and validated in chunks outside the timed section, then folded through
``Engine.decide`` with one state per customer, as a worker does. Reports events/s (wall
clock), events per CPU-second of this process (what one core gives when the machine is shared:
it hardly depends on the load), recommendations/s, peak RSS and the mean serialized
``CustomerState`` at the end.
"""

from __future__ import annotations

import gc
import resource
import sys
import time
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from guardrail.core.engine import Engine
from guardrail.core.policy import load_policy
from guardrail.core.records import Event, Recommendation
from guardrail.core.state import EMPTY_STATE, CustomerState, state_to_json
from guardrail.generate.stream import GeneratorConfig, generate_records
from guardrail.tools.measure import percentile

CHUNK = 50_000


@dataclass
class EngineFigures:
    events: int
    recommendations: int
    customers: int
    days: float
    seconds: float
    cpu_seconds: float
    events_per_s: float
    events_per_cpu_s: float
    recommendations_per_s: float
    peak_rss_mb: float
    mean_state_bytes: float
    p99_state_bytes: int
    max_state_bytes: int


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_engine_bench(cfg: GeneratorConfig, policy_path: Path | None = None) -> EngineFigures:
    engine = Engine(load_policy(policy_path))
    decide = engine.decide
    states: dict[str, CustomerState] = {}
    records = (record for _, record in generate_records(cfg))
    events = recommendations = 0
    elapsed = cpu = 0.0
    while True:
        chunk: list[Event] = list(islice(records, CHUNK))
        if not chunk:
            break
        # decide() makes no reference cycles (tests/unit/test_core_purity.py): reference
        # counting frees all it drops, and the cyclic collector would only rescan the
        # 100,000 states held here, which a worker keeps as bytes in its store, not as
        # objects. So it is off while timed; a collection after each chunk must find nothing.
        get = states.get
        gc.collect()  # what generating the chunk left is not decide()'s
        gc.disable()
        started, cpu_started = time.perf_counter(), time.process_time()
        for event in chunk:
            customer = event.customer_id
            states[customer], _ = decide(get(customer, EMPTY_STATE), event)
        elapsed += time.perf_counter() - started
        cpu += time.process_time() - cpu_started
        gc.enable()
        cycles = gc.collect()
        if cycles:
            raise RuntimeError(f"decide() left {cycles} objects in reference cycles")
        events += len(chunk)
        recommendations += sum(1 for e in chunk if isinstance(e, Recommendation))
        print(f"\r  {events:,} events decided", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    sizes = sorted(len(state_to_json(s)) for s in states.values())
    return EngineFigures(
        events=events,
        recommendations=recommendations,
        customers=len(states),
        days=cfg.days,
        seconds=round(elapsed, 3),
        cpu_seconds=round(cpu, 3),
        events_per_s=round(events / elapsed),
        events_per_cpu_s=round(events / cpu),
        recommendations_per_s=round(recommendations / elapsed),
        peak_rss_mb=round(peak_rss_mb(), 1),
        mean_state_bytes=round(sum(sizes) / len(sizes), 1) if sizes else 0.0,
        p99_state_bytes=round(percentile(sizes, 99) or 0),
        max_state_bytes=sizes[-1] if sizes else 0,
    )
