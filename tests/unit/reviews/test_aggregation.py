"""A review's weighted mark out of 20, and the reviews of one application together."""

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.reviews.aggregation import Criterion, aggregate, check_rubric, weighted_mark

D = Decimal
# A 0–5 criterion weighing 3, a 0–20 criterion weighing 1.
RUBRIC = [
    Criterion("quality", "Qualité du projet", weight=3, scale=5),
    Criterion("impact", "Impact sur le territoire", weight=1, scale=20),
]


THRESHOLD = D(4)


def run(reviews, *, rank_by="mean", threshold=THRESHOLD):
    return aggregate(reviews, RUBRIC, rank_by=rank_by, disagreement_threshold=threshold)


# --- hand cases ----------------------------------------------------------------------


def test_each_criterion_counts_by_its_weight_whatever_its_scale():
    # 20 × (3 × 4/5 + 1 × 10/20) / 4 = 14.5
    assert weighted_mark({"quality": 4, "impact": 10}, RUBRIC) == D("14.50")
    assert weighted_mark({"quality": 5, "impact": 0}, RUBRIC) == D("15.00")
    assert weighted_mark({"quality": 0, "impact": 20}, RUBRIC) == D("5.00")
    assert weighted_mark({"quality": 5, "impact": 20}, RUBRIC) == D("20.00")
    assert weighted_mark({"quality": D("2.5"), "impact": D("7.5")}, RUBRIC) == D("9.38")


def test_mark_is_rounded_half_up_once():
    rubric = [Criterion("a", "A", 1, 3), Criterion("b", "B", 1, 16)]
    # 20 × (1/3 + 1/16) / 2 = 3.958333… → 3.96
    assert weighted_mark({"a": 1, "b": 1}, rubric) == D("3.96")
    # exactly 0.125 → 0.13 (half-up, not half-even)
    rubric = [Criterion("x", "X", 1, 160)]
    assert weighted_mark({"x": 1}, rubric) == D("0.13")


def test_median_of_an_even_number_of_reviews_is_the_mean_of_the_middle_two():
    result = run(
        [
            {"quality": 4, "impact": 10},  # 14.50
            {"quality": 5, "impact": 20},  # 20.00
            {"quality": 1, "impact": 0},  # 3.00
            {"quality": 3, "impact": 15},  # 12.75
        ],
        rank_by="median",
    )
    assert result.marks == (D("14.50"), D("20.00"), D("3.00"), D("12.75"))
    assert result.median == D("13.63")  # (12.75 + 14.50) / 2 = 13.625
    assert result.mean == D("12.56")  # 50.25 / 4 = 12.5625
    assert result.median_100 == D("68.15")
    assert result.mean_100 == D("62.80")
    assert result.ranking == result.median
    assert result.rank_by == "median"
    assert result.criterion_means == {"quality": D("3.25"), "impact": D("11.25")}
    assert list(result.criterion_means) == ["quality", "impact"]
    assert result.spread == D("17.00")
    assert result.disagreement


def test_mean_ranks_when_the_call_says_so():
    result = run([{"quality": 5, "impact": 20}, {"quality": 0, "impact": 0}])
    assert (result.mean, result.median, result.ranking) == (D("10.00"), D("10.00"), D("10.00"))
    result = run(
        [{"quality": 5, "impact": 20}, {"quality": 5, "impact": 20}, {"quality": 0, "impact": 0}]
    )
    assert result.ranking == result.mean == D("13.33")
    assert result.median == D("20.00")


def test_mean_is_of_exact_marks_not_of_rounded_ones():
    rubric = [Criterion("x", "X", 1, 3)]
    # marks 6.666…, 6.666…, 0: rounded first they would give (6.67 + 6.67) / 3 = 4.45
    result = aggregate(
        [{"x": 1}, {"x": 1}, {"x": 0}], rubric, rank_by="mean", disagreement_threshold=D(10)
    )
    assert result.mean == D("4.44")


def test_spread_exactly_at_the_threshold_is_not_a_disagreement():
    reviews = [{"quality": 5, "impact": 20}, {"quality": 4, "impact": 20}]  # 20.00 and 17.00
    assert run(reviews, threshold=D(3)).spread == D("3.00")
    assert not run(reviews, threshold=D(3)).disagreement
    assert not run(reviews, threshold=3).disagreement
    assert run(reviews, threshold=D("2.99")).disagreement


def test_one_review_has_no_spread():
    result = run([{"quality": 4, "impact": 10}], threshold=D(0))
    assert result.spread == D("0.00")
    assert not result.disagreement
    assert result.mean == result.median == result.ranking == D("14.50")


def test_no_review_gives_no_values():
    result = run([])
    assert result.reviews == 0
    assert result.marks == ()
    assert result.mean is result.median is result.ranking is None
    assert result.mean_100 is result.median_100 is result.spread is None
    assert result.criterion_means == {"quality": None, "impact": None}
    assert not result.disagreement


@pytest.mark.parametrize(
    "scores",
    [
        {"quality": 4},
        {},
        {"quality": 4, "impact": 10, "budget": 3},
        {"quality": 6, "impact": 10},
        {"quality": -1, "impact": 10},
        {"quality": 4, "impact": 21},
        {"quality": D("5.01"), "impact": 10},
        {"quality": D("NaN"), "impact": 10},
    ],
)
def test_refused_reviews(scores):
    with pytest.raises(ValueError):
        weighted_mark(scores, RUBRIC)
    with pytest.raises(ValueError):
        run([{"quality": 1, "impact": 1}, scores])


@pytest.mark.parametrize("mark", [4.0, "4", True, None])
def test_marks_are_ints_or_decimals(mark):
    with pytest.raises(TypeError):
        weighted_mark({"quality": mark, "impact": 10}, RUBRIC)


@pytest.mark.parametrize(
    "rubric",
    [
        [],
        [Criterion("a", "A", 1, 5), Criterion("a", "A bis", 1, 5)],
        [Criterion("a", "A", 0, 5)],
        [Criterion("a", "A", -1, 5)],
        [Criterion("a", "A", 1, 0)],
        [Criterion("a", "A", True, 5)],
    ],
)
def test_refused_rubrics(rubric):
    with pytest.raises(ValueError):
        check_rubric(rubric)


def test_refused_options():
    with pytest.raises(ValueError):
        run([], rank_by="max")
    with pytest.raises(ValueError):
        run([], threshold=D(-1))


# --- properties ----------------------------------------------------------------------

criteria = st.lists(
    st.tuples(st.integers(1, 10), st.sampled_from([1, 3, 4, 5, 10, 20, 100])),
    min_size=1,
    max_size=6,
).map(lambda items: [Criterion(f"c{i}", f"Critère {i}", w, s) for i, (w, s) in enumerate(items)])


def mark_for(scale):
    return st.one_of(
        st.integers(0, scale),
        st.decimals(min_value=0, max_value=scale, places=2, allow_nan=False),
    )


@st.composite
def rubric_and_reviews(draw, min_reviews=0):
    rubric = draw(criteria)
    review = st.fixed_dictionaries({c.key: mark_for(c.scale) for c in rubric})
    return rubric, draw(st.lists(review, min_size=min_reviews, max_size=7))


@given(rubric_and_reviews(min_reviews=1))
def test_marks_lie_between_0_and_20(case):
    rubric, reviews = case
    for review in reviews:
        assert D(0) <= weighted_mark(review, rubric) <= D(20)


@given(criteria)
def test_all_max_gives_20_and_all_zero_gives_0(rubric):
    assert weighted_mark({c.key: c.scale for c in rubric}, rubric) == D("20.00")
    assert weighted_mark({c.key: 0 for c in rubric}, rubric) == D("0.00")


@given(rubric_and_reviews(min_reviews=1), st.sampled_from(["mean", "median"]))
def test_mean_and_median_lie_between_the_lowest_and_highest_marks(case, rank_by):
    rubric, reviews = case
    result = aggregate(reviews, rubric, rank_by=rank_by, disagreement_threshold=D(5))
    assert result.reviews == len(reviews)
    low, high = min(result.marks), max(result.marks)
    assert low <= result.mean <= high
    assert low <= result.median <= high
    assert result.ranking == (result.mean if rank_by == "mean" else result.median)
    for c in rubric:
        marks = [review[c.key] for review in reviews]
        assert min(marks) <= result.criterion_means[c.key] + D("0.005")
        assert result.criterion_means[c.key] - D("0.005") <= max(marks)


@given(rubric_and_reviews(min_reviews=1))
def test_out_of_100_is_five_times_out_of_20(case):
    rubric, reviews = case
    result = aggregate(reviews, rubric, rank_by="mean", disagreement_threshold=D(5))
    assert result.mean_100 == 5 * result.mean
    assert result.median_100 == 5 * result.median
    assert result.mean_100.as_tuple().exponent == -2


@given(rubric_and_reviews(min_reviews=1), st.decimals(0, 20, places=2))
def test_disagreement_is_a_spread_above_the_threshold(case, threshold):
    rubric, reviews = case
    result = aggregate(reviews, rubric, rank_by="mean", disagreement_threshold=threshold)
    # The spread is of the exact marks, so it can differ from that of the rounded marks
    # by one cent.
    assert abs(result.spread - (max(result.marks) - min(result.marks))) <= D("0.01")
    assert result.disagreement == (result.spread > threshold)


@given(rubric_and_reviews(min_reviews=1))
def test_the_mark_is_the_exact_weighted_mean_rounded_half_up(case):
    rubric, reviews = case
    for review in reviews:
        exact = (
            20
            * sum(Fraction(c.weight) * Fraction(review[c.key]) / c.scale for c in rubric)
            / sum(c.weight for c in rubric)
        )
        shown = Fraction(weighted_mark(review, rubric))
        # Half-up: an exact half-cent goes up, anything less goes to the nearer cent.
        assert -Fraction(1, 200) < shown - exact <= Fraction(1, 200)
        assert shown * 100 == int(shown * 100)
