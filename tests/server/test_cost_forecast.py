"""Cost forecasts on generated daily series: accuracy against a run-rate on held-out days,
interval coverage, the method chosen by length of history, and the month-end helper."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest

from server.costs.forecast import (
    MIN_DAYS,
    SEASONAL_MIN_DAYS,
    Forecast,
    forecast_costs,
    month_end_forecast,
)

START = date(2024, 1, 1)  # a Monday
WEEKDAY_OFFSETS = (12.0, 14.0, 13.0, 12.0, 8.0, -22.0, -27.0)  # dev environments off at weekends
HELD_OUT = 30


def daily_costs(
    days: int,
    *,
    seed: int,
    base: float = 100.0,
    trend: float = 0.15,
    noise: float = 5.0,
    weekly: bool = True,
    step_at: int | None = None,
    step: float = 40.0,
) -> list[float]:
    """Dollars per day: a base that grows by `trend` a day, a weekday pattern, a step up of
    `step` from day `step_at`, and Gaussian noise from a seeded generator."""
    rng = random.Random(seed)
    costs = []
    for t in range(days):
        cost = base + trend * t + (WEEKDAY_OFFSETS[t % 7] if weekly else 0.0)
        if step_at is not None and t >= step_at:
            cost += step
        costs.append(max(cost + rng.gauss(0.0, noise), 0.0))
    return costs


def history(costs: list[float], start: date = START) -> list[tuple[date, Decimal]]:
    return [(start + timedelta(days=i), Decimal(f"{c:.2f}")) for i, c in enumerate(costs)]


def mape(actual: list[float], forecast: list[float]) -> float:
    return 100 * sum(abs(a - f) / a for a, f in zip(actual, forecast, strict=True)) / len(actual)


def means(forecast: Forecast) -> list[float]:
    return [float(p.mean) for p in forecast.points]


def test_seasonal_forecast_beats_the_run_rate_on_a_weekly_series_with_trend_and_a_step() -> None:
    for seed in range(5):
        costs = daily_costs(365 + HELD_OUT, seed=seed, step_at=365 - 60)
        past, actual = costs[:-HELD_OUT], costs[-HELD_OUT:]
        forecast = forecast_costs(history(past), HELD_OUT)
        ours = mape(actual, means(forecast))
        week = mape(actual, [sum(past[-7:]) / 7] * HELD_OUT)
        four_weeks = mape(actual, [sum(past[-28:]) / 28] * HELD_OUT)
        print(
            f"seed {seed}: MAPE {ours:.2f}% vs run-rate {week:.2f}% (7 d), {four_weeks:.2f}% (28 d)"
        )
        assert forecast.method == "seasonal"
        assert ours < week / 2 and ours < four_weeks / 2
        assert ours < 5.0


def test_the_forecast_follows_a_step_change_two_weeks_before_the_end() -> None:
    costs = daily_costs(200 + HELD_OUT, seed=7, trend=0.0, weekly=False, step_at=186, step=60.0)
    forecast = forecast_costs(history(costs[:-HELD_OUT]), HELD_OUT)
    assert mape(costs[-HELD_OUT:], means(forecast)) < 8.0
    assert 150 < sum(means(forecast)) / HELD_OUT < 170


def test_fewer_than_seven_days_is_not_enough_data() -> None:
    for days in (0, 1, MIN_DAYS - 1):
        forecast = forecast_costs(history(daily_costs(days, seed=1)), 30)
        assert forecast.method == "not_enough_data"
        assert forecast.points == []
        assert forecast.total is forecast.total_lower is forecast.total_upper is None


def test_seven_days_up_to_four_weeks_use_the_run_rate_and_four_weeks_the_seasonal_method() -> None:
    for days in (MIN_DAYS, 20, SEASONAL_MIN_DAYS - 1):
        assert forecast_costs(history(daily_costs(days, seed=2)), 30).method == "run_rate"
    for days in (SEASONAL_MIN_DAYS, 730):
        assert forecast_costs(history(daily_costs(days, seed=2)), 30).method == "seasonal"


def test_the_run_rate_is_the_mean_of_the_last_whole_weeks() -> None:
    costs = [10.0] * 3 + [20.0] * 7  # ten days: the last week only
    forecast = forecast_costs(history(costs), 5)
    assert {p.mean for p in forecast.points} == {Decimal("20.00")}
    costs = [10.0] * 6 + [20.0] * 7 + [30.0] * 7  # twenty days: the last two weeks
    assert forecast_costs(history(costs), 5).points[0].mean == Decimal("25.00")


@pytest.mark.parametrize("days", [10, 60, 400])
def test_every_point_has_lower_at_most_mean_at_most_upper_and_no_bound_below_zero(
    days: int,
) -> None:
    costs = daily_costs(days, seed=3, base=4.0, trend=-0.01, noise=3.0, weekly=False)
    forecast = forecast_costs(history(costs), 90)
    assert [p.date for p in forecast.points] == [
        START + timedelta(days=days + h) for h in range(90)
    ]
    for p in forecast.points:
        assert Decimal(0) <= p.lower <= p.mean <= p.upper
        assert p.mean == p.mean.quantize(Decimal("0.01"))
    assert forecast.total == sum(p.mean for p in forecast.points)
    assert forecast.total_lower is not None and forecast.total_upper is not None
    assert Decimal(0) <= forecast.total_lower <= forecast.total <= forecast.total_upper


def test_the_80_percent_interval_holds_about_80_percent_of_held_out_days() -> None:
    inside = total = 0
    for seed in range(10):
        costs = daily_costs(180 + HELD_OUT, seed=seed, noise=12.0)
        forecast = forecast_costs(history(costs[:-HELD_OUT]), HELD_OUT)
        for p, actual in zip(forecast.points, costs[-HELD_OUT:], strict=True):
            inside += p.lower <= Decimal(f"{actual:.2f}") <= p.upper
            total += 1
    print(f"80% interval coverage on held-out days: {inside / total:.0%}")
    assert 0.60 <= inside / total <= 0.95


def test_the_interval_widens_with_the_horizon_and_the_total_is_narrower_than_days_added() -> None:
    forecast = forecast_costs(history(daily_costs(120, seed=4)), 90)
    first, last = forecast.points[0], forecast.points[-1]
    assert last.upper - last.mean > first.upper - first.mean
    assert forecast.total is not None and forecast.total_upper is not None
    assert forecast.total_upper - forecast.total < sum(p.upper - p.mean for p in forecast.points)


@pytest.mark.parametrize("days", [10, 90])
def test_a_constant_series_forecasts_that_constant(days: int) -> None:
    forecast = forecast_costs(history([12.34] * days), 30)
    assert {(p.lower, p.mean, p.upper) for p in forecast.points} == {(Decimal("12.34"),) * 3}
    assert forecast.total == forecast.total_lower == forecast.total_upper == Decimal("370.20")


def test_a_history_of_zero_cost_forecasts_zero() -> None:
    forecast = forecast_costs(history([0.0] * 60), 30)
    assert forecast.method == "seasonal"
    assert {(p.lower, p.mean, p.upper) for p in forecast.points} == {(Decimal(0),) * 3}
    assert forecast.total == forecast.total_upper == Decimal(0)


def test_missing_days_count_as_zero_and_amounts_of_one_day_add_up() -> None:
    costs = daily_costs(60, seed=5)
    full = history([0.0 if i % 9 == 4 else c for i, c in enumerate(costs)])
    gappy = [(day, amount) for i, (day, amount) in enumerate(history(costs)) if i % 9 != 4]
    split = [(day, amount / 2) for day, amount in gappy for _ in range(2)]
    assert forecast_costs(reversed(split), 30) == forecast_costs(full, 30)


def test_days_to_forecast_must_be_positive() -> None:
    with pytest.raises(ValueError, match="days"):
        forecast_costs(history([1.0] * 30), 0)


def test_month_end_adds_the_month_so_far_to_the_forecast_of_the_rest_of_the_month() -> None:
    costs = history([10.0] * 80)  # Jan 1 to Mar 20, 2024
    result = month_end_forecast(costs, today=date(2024, 3, 15))
    # Mar 1..14 are actual; today's cost is still accruing, so Mar 15..31 are forecast.
    assert result.month_to_date == Decimal("140.00")
    assert [p.date for p in result.rest_of_month.points] == [
        date(2024, 3, d) for d in range(15, 32)
    ]
    assert result.total == result.total_lower == result.total_upper == Decimal("310.00")


def test_month_end_forecasts_from_a_history_that_stopped_before_the_month_began() -> None:
    costs = history([10.0] * 50)  # Jan 1 to Feb 19, 2024
    result = month_end_forecast(costs, today=date(2024, 3, 10))
    assert result.month_to_date == 0
    assert result.rest_of_month.points[0].date == date(2024, 3, 1)
    assert len(result.rest_of_month.points) == 31
    assert result.total == Decimal("310.00")


def test_month_end_total_is_the_month_so_far_plus_the_rest_and_none_without_enough_data() -> None:
    costs = history(daily_costs(121, seed=6))  # Jan 1 to Apr 30, 2024
    result = month_end_forecast(costs, today=date(2024, 4, 15))
    assert result.rest_of_month.method == "seasonal"
    assert result.month_to_date == sum(
        a for d, a in costs if date(2024, 4, 1) <= d < date(2024, 4, 15)
    )
    rest = result.rest_of_month
    assert rest.total is not None and rest.total_lower is not None and rest.total_upper is not None
    assert result.total == result.month_to_date + rest.total
    assert result.total_lower == result.month_to_date + rest.total_lower
    assert result.total_upper == result.month_to_date + rest.total_upper
    short = month_end_forecast(history([5.0] * 6), today=date(2024, 1, 7))
    assert short.month_to_date == Decimal("30.00")
    assert short.rest_of_month.method == "not_enough_data"
    assert short.total is short.total_lower is short.total_upper is None
