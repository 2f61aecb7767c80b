"""The weakest stage's choice (services/analytics/kpi/funnel.py) compared in integers: the same stage as the
lowest (own conversion / team conversion, position) in exact fractions, ties to the earlier stage, stages the
owner never entered or the team never converted from left out."""
import random
from fractions import Fraction

from services.analytics.kpi.funnel import _weakest_index


def by_fractions(own: list[int], team: list[int]) -> int | None:
    candidates = [(Fraction(own[i + 1], own[i]) / Fraction(team[i + 1], team[i]), i)
                  for i in range(len(own) - 1) if own[i] and team[i] and team[i + 1]]
    return min(candidates)[1] if candidates else None


def test_the_lowest_relative_conversion_wins():
    # own 3/5 against the team's 5/8 (0.96) beats 4/4 against 8/10 (1.25)
    assert _weakest_index([4, 4, 3, 5], [10, 8, 5, 8]) == 2


def test_a_tie_goes_to_the_earlier_stage():
    # 1/2 against 2/4, then 2/4 against 1/2, then 1/2 against 1/2: each exactly 1.0
    assert _weakest_index([2, 1, 1, 1], [4, 2, 2, 1]) == 0


def test_stages_not_entered_or_never_converted_by_the_team_are_left_out():
    assert _weakest_index([0, 0, 0], [5, 3, 1]) is None  # the owner entered nothing
    assert _weakest_index([5, 0, 0], [5, 0, 0]) is None  # the team converted nothing
    assert _weakest_index([5, 0, 3], [9, 0, 1]) is None  # the team converted none of stage 0; 1 not entered
    assert _weakest_index([2, 0, 1], [4, 3, 2]) == 0  # a conversion of 0 is the lowest there is


def test_the_integer_comparison_chooses_as_exact_fractions_do():
    rng = random.Random(7)
    for _ in range(5000):
        stages = rng.randint(1, 6)
        team = sorted((rng.randint(0, 60) for _ in range(stages + 1)), reverse=True)
        own = [min(rng.randint(0, 12), count) for count in team]
        assert _weakest_index(own, team) == by_fractions(own, team), (own, team)
