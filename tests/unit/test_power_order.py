"""power.csv order: every processor row of an instant, then that instant's total."""

from __future__ import annotations

import pytest

from simsched.api import simulate


@pytest.mark.parametrize("policy", ["fifo", "twill", "dream"])
def test_file_order_sums_give_the_total(policy: str) -> None:
    res = simulate("experiments/quickstart.yaml", overrides=["duration_ms=1500", f"policy={policy}"])
    power = res.power
    static_w = res.summary["manifest"]["config"]["platform"]["static_w"]
    latest: dict[str, float] = {}
    seen_total_at: set[float] = set()
    prev_t = -1.0
    n_totals = 0
    for t, proc, w in power.itertuples(index=False):
        if t != prev_t:
            # A new instant starts only after the previous one's total row.
            assert prev_t < 0 or prev_t in seen_total_at
            prev_t = t
        if proc == "total":
            assert t not in seen_total_at  # one total per instant
            seen_total_at.add(t)
            expected = static_w + sum(latest.values())
            assert w == pytest.approx(expected, rel=1e-12, abs=1e-12)
            n_totals += 1
        else:
            assert t not in seen_total_at  # no processor row after its instant's total
            latest[proc] = w
    assert n_totals > 10
