"""draw / frame_hash / verify_draw: reproducibility, replicates, uniformity, canonical form."""

import hashlib
import itertools

import numpy as np
import pytest
from scipy.stats import chisquare

from sampling import Draw, SamplingError, draw, frame_hash, verify_draw

STRATA = np.array(["A", "A", "A", "A", "B", "B", "B"])
KEYS = np.array([101, 102, 103, 104, 201, 202, 203])


def test_pinned_draw():
    # Pinned output of the v1 algorithm (NumPy PCG64 stream). If this changes, recorded draws
    # can no longer be verified: bump DRAW_ALGORITHM instead of editing these numbers.
    d = draw(STRATA, {"A": 2, "B": 1}, seed=20240601, replicate_size=1, keys=KEYS)
    assert d.rank.tolist() == [2, 1, 0, 3, 0, 1, 2]
    assert d.replicate.tolist() == [3, 2, 1, 4, 1, 2, 3]
    assert d.selected.tolist() == [False, True, True, False, True, False, False]
    assert d.population.tolist() == [4, 3]
    assert d.probability.tolist() == [0.5, 1 / 3]
    assert "PCG64" in d.generator and d.seed == 20240601


def test_same_seed_same_draw_other_seed_other_draw():
    rng = np.random.default_rng(5)
    strata = rng.integers(0, 20, 5000)
    keys = rng.permutation(5000)
    a = draw(strata, 10, 42, keys=keys)
    b = draw(strata, 10, 42, keys=keys)
    c = draw(strata, 10, 43, keys=keys)
    assert np.array_equal(a.rank, b.rank) and np.array_equal(a.replicate, b.replicate)
    assert not np.array_equal(a.rank, c.rank)


def test_row_order_does_not_matter_with_keys():
    rng = np.random.default_rng(6)
    strata = rng.integers(0, 7, 800)
    keys = rng.permutation(800) * 3 + 11
    perm = rng.permutation(800)
    a = draw(strata, 5, 9, keys=keys)
    b = draw(strata[perm], 5, 9, keys=keys[perm])
    assert np.array_equal(a.rank[perm], b.rank)
    # string keys give the same canonical order as their integer order when zero-padded
    skeys = np.array([f"{k:06d}" for k in keys])
    assert np.array_equal(draw(strata, 5, 9, keys=skeys).rank, a.rank)


def test_rank_is_a_permutation_within_each_stratum_and_replicates_are_prefixes():
    rng = np.random.default_rng(7)
    strata = rng.integers(0, 12, 3000)
    d = draw(strata, 20, 1, replicate_size=4, keys=np.arange(3000))
    for code, label in enumerate(d.strata.tolist()):
        rows = strata == label
        assert sorted(d.rank[rows].tolist()) == list(range(int(rows.sum())))
        assert np.array_equal(d.stratum_code[rows], np.full(rows.sum(), code))
    assert np.array_equal(d.replicate, d.rank // 4 + 1)
    for r in range(1, 7):  # releasing r replicates = the first 4r of every stratum's order
        assert np.array_equal(d.released(r), d.rank < 4 * r)
    assert np.array_equal(d.selected, d.rank < 20)
    per = np.arange(d.strata.size) % 3 + 1
    assert np.array_equal(d.released(per), d.rank < 4 * per[d.stratum_code])


def test_default_replicate_is_the_planned_sample():
    d = draw([1, 1, 1, 2, 2], [2, 0], seed=3)
    assert d.replicate_size.tolist() == [2, 1]
    assert np.array_equal(d.released(1), d.selected | (d.stratum_code == 1) & (d.rank < 1))


def test_each_stratum_selection_is_uniform():
    # N=6, n=2: all 15 pairs equally likely. 3000 seeds -> 200 expected per pair; chi-square
    # with 14 df; p > 1e-4 fails only by a real bias (or once in 10,000 runs; seeds are fixed).
    pairs = {p: 0 for p in itertools.combinations(range(6), 2)}
    strata = np.array([0] * 6 + [1] * 4)
    keys = np.arange(10)
    for seed in range(3000):
        d = draw(strata, [2, 1], seed, keys=keys)
        chosen = tuple(np.flatnonzero(d.selected[:6]).tolist())
        pairs[chosen] += 1
    assert chisquare(list(pairs.values())).pvalue > 1e-4
    # and the second stratum: which element comes first in the order (4 cells, 750 expected)
    firsts = np.bincount(
        [int(np.argmin(draw(strata, [2, 1], s, keys=keys).rank[6:])) for s in range(2000)],
        minlength=4,
    )
    assert chisquare(firsts).pvalue > 1e-4


def test_million_row_frame_is_vectorised():
    # correctness on a big frame (speed is measured in bench/bench_sampling.py)
    rng = np.random.default_rng(8)
    strata = np.sort(rng.integers(0, 330, 200_000))
    d = draw(strata, 30, 11, keys=rng.permutation(200_000))
    assert int(d.selected.sum()) == int(np.minimum(30, d.population).sum())


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"sizes": [5, 1]}, "exceeds the stratum"),
        ({"sizes": {"A": 1}}, "no entry for stratum 'B'"),
        ({"sizes": {"A": 1, "B": 1, "C": 1}}, "not in the frame"),
        ({"sizes": [1, 1, 1]}, "shape"),
        ({"seed": -1}, "seed"),
        ({"seed": 1.5}, "seed"),
        ({"replicate_size": 0}, "replicate_size"),
        ({"keys": [1, 1, 2, 3, 4, 5, 6]}, "repeat within a stratum"),
        ({"keys": [1, 2, 3]}, "length"),
    ],
)
def test_bad_arguments(kwargs, text):
    args = {"frame_strata": STRATA, "sizes": [1, 1], "seed": 1, "keys": KEYS} | kwargs
    with pytest.raises(SamplingError, match=text):
        draw(**args)


def test_float_strata_refused():
    with pytest.raises(SamplingError, match="integer or string"):
        draw([1.0, 2.0], 1, 1)


def test_frame_hash_matches_the_documented_recipe():
    strata = ["B", "A", "A", "群众"]
    keys = [1, 2, 1, 7]
    rows = sorted(zip(strata, keys, strict=True))
    text = "sampling-frame-v1\n" + "".join(f"{s}\t{k}\n" for s, k in rows)
    assert frame_hash(strata, keys) == hashlib.sha256(text.encode("utf-8")).hexdigest()
    # pinned: sha256(b"sampling-frame-v1\nA\t1\nA\t2\nB\t1\n")
    assert (
        frame_hash(["A", "A", "B"], [2, 1, 1])
        == "7bc8e35c9b48ad3dab42e47db0957174713ae06546b158999abee01b6e2775db"
    )


def test_frame_hash_ignores_row_order_and_sees_any_change():
    rng = np.random.default_rng(2)
    s = rng.integers(0, 5, 300)
    k = rng.permutation(300)
    p = rng.permutation(300)
    h = frame_hash(s, k)
    assert frame_hash(s[p], k[p]) == h
    k2 = k.copy()
    k2[0] += 1000
    assert frame_hash(s, k2) != h
    assert frame_hash(s[1:], k[1:]) != h
    assert (
        frame_hash(np.array([-3, 10]), np.array([1, 2]))
        == hashlib.sha256(b"sampling-frame-v1\n-3\t1\n10\t2\n").hexdigest()
    )


def test_frame_hash_refuses_tabs_and_floats():
    with pytest.raises(SamplingError, match="tab or line break"):
        frame_hash(["a\tb"], [1])
    with pytest.raises(SamplingError, match="integer or string"):
        frame_hash([1.5], [1])
    with pytest.raises(SamplingError, match="no columns"):
        frame_hash()


def test_verify_draw_reports_the_first_difference():
    d = draw(STRATA, [2, 1], 77, keys=KEYS)
    h = frame_hash(STRATA, KEYS)
    ok = verify_draw(d.rank, d.replicate, STRATA, [2, 1], 77, keys=KEYS, expected_hash=h)
    assert ok.ok and ok.field is None
    bad_rank = d.rank.copy()
    bad_rank[[1, 2]] = bad_rank[[2, 1]]  # ranks within stratum A are distinct
    check = verify_draw(bad_rank, d.replicate, STRATA, [2, 1], 77, keys=KEYS)
    assert (check.ok, check.field, check.index) == (False, "rank", 1)
    assert "row 1" in check.message
    check = verify_draw(d.rank, d.replicate, STRATA, [2, 1], 78, keys=KEYS)
    assert not check.ok and check.field == "rank"
    check = verify_draw(d.rank, d.replicate, STRATA, [2, 1], 77, keys=KEYS, expected_hash="0" * 64)
    assert (check.ok, check.field) == (False, "frame_hash")
    check = verify_draw(d.rank[:-1], d.replicate, STRATA, [2, 1], 77, keys=KEYS)
    assert (check.ok, check.field) == (False, "length")
    rep = d.replicate.copy()
    rep[6] += 1
    check = verify_draw(d.rank, rep, STRATA, [2, 1], 77, keys=KEYS)
    assert (check.field, check.index) == ("replicate", 6)


def test_draw_is_frozen():
    d = draw(STRATA, 1, 1, keys=KEYS)
    assert isinstance(d, Draw)
    with pytest.raises(AttributeError):
        d.seed = 2  # type: ignore[misc]


def test_global_numpy_state_untouched():
    np.random.seed(123)
    before = np.random.random()
    np.random.seed(123)
    draw(STRATA, 1, 5, keys=KEYS)
    assert np.random.random() == before
