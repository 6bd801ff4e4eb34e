"""Sample size per unit for a target margin of error on the 10-point score.

Each unit (a government department) is its own population, so the size is worked out unit by
unit, vectorised over arrays of frame sizes and assumed standard deviations. The formula is the
classical one for estimating a mean under simple random sampling without replacement
(Cochran 1977, sec. 4.4; Lohr 2010, sec. 2.7).

References
----------
.. [1] Cochran, W.G. (1977), *Sampling Techniques*, 3rd edn., Wiley, eqs. (4.1)-(4.2).
.. [2] Lohr, S.L. (2010), *Sampling: Design and Analysis*, 2nd edn., Cengage, sec. 2.7.
.. [3] AAPOR (2016), *Standard Definitions*, 9th edn. (response and eligibility rates).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sampling import _checks
from sampling.errors import SamplingError

__all__ = ["SampleSize", "sample_size"]


@dataclass(frozen=True)
class SampleSize:
    """Result of :func:`sample_size`; every field is an array of the broadcast shape.

    Attributes
    ----------
    population : ndarray of int64
        Frame size ``N`` per unit.
    n0 : ndarray of float64
        Size ignoring the finite population, ``(z * sd / margin) ** 2``.
    n_fpc : ndarray of float64
        Size with the finite population correction, ``n0 / (1 + n0 / N)``.
    completes : ndarray of int64
        Completed interviews to aim for: ``min(N, max(ceil(n_fpc), minimum))``.
    release : ndarray of int64
        Cases to release for calling, ``min(N, ceil(completes / (response_rate *
        eligibility_rate)))``; ``N`` for a census.
    census : ndarray of bool
        True where ``completes == N`` (the frame is no larger than the size needed): every
        frame member is called.
    shortfall : ndarray of bool
        True where the frame is too small for the inflation: even releasing all ``N`` cases the
        expected completes ``N * response_rate * eligibility_rate`` fall short of ``completes``.
    margin : ndarray of float64
        Expected margin of error at ``completes``: ``z * sd * sqrt((1 - n/N) / n)``
        (0 for a census, NaN when ``N == 0``).
    z : float
        Normal quantile used, ``Phi^{-1}(1 - (1 - level) / 2)``.
    """

    population: np.ndarray
    n0: np.ndarray
    n_fpc: np.ndarray
    completes: np.ndarray
    release: np.ndarray
    census: np.ndarray
    shortfall: np.ndarray
    margin: np.ndarray
    z: float


def sample_size(
    population,
    sd,
    margin: float = 0.5,
    level: float = 0.95,
    minimum: int = 30,
    response_rate=1.0,
    eligibility_rate=1.0,
) -> SampleSize:
    r"""Completed interviews and released cases per unit for a target margin of error.

    Parameters
    ----------
    population : int or array_like of int
        Frame size ``N`` of each unit (``N >= 0``).
    sd : float or array_like
        Assumed standard deviation ``S`` of the score in each unit (``S >= 0``), e.g. from last
        year's survey; broadcast against `population`.
    margin : float, default 0.5
        Target half-width ``d`` of the confidence interval on the score's scale (``d > 0``):
        the default is +/-0.5 points on the 10-point scale.
    level : float, default 0.95
        Confidence level, ``0 < level < 1``.
    minimum : int, default 30
        Fewest completed interviews per unit (``>= 0``), whatever the formula says.
    response_rate, eligibility_rate : float or array_like, default 1.0
        Expected share of eligible released cases that complete, and expected share of released
        cases that are eligible, each in ``(0, 1]``; the released count is inflated by their
        product.

    Returns
    -------
    SampleSize
        Frozen dataclass of arrays, see :class:`SampleSize`.

    Notes
    -----
    With ``z = Phi^{-1}(1 - alpha/2)`` (normal quantile) the variance of the SRSWOR mean is
    :math:`(1 - n/N) S^2 / n`; setting :math:`z^2` times that equal to :math:`d^2` gives

    .. math::

        n_0 = (z S / d)^2, \qquad n = \frac{n_0}{1 + n_0 / N}

    (Cochran 1977, eqs. 4.1-4.2, with the ``N - 1`` denominator in :math:`S^2`). Then
    ``completes = min(N, max(ceil(n), minimum))``: a census when the frame is smaller than
    the size needed or than the minimum. The release inflates for nonresponse and ineligibility,
    ``ceil(completes / (response_rate * eligibility_rate))``, never beyond ``N``. A ceiling
    tolerance of 1e-9 keeps ``30.0000000001`` from becoming 31.

    The normal quantile is used (not Student's t), as in Cochran; with the default minimum of
    30 completes the difference is below 4 %.

    References
    ----------
    .. [1] Cochran, W.G. (1977), *Sampling Techniques*, 3rd edn., Wiley, sec. 4.4.
    .. [2] Lohr, S.L. (2010), *Sampling: Design and Analysis*, 2nd edn., sec. 2.7.

    Examples
    --------
    >>> s = sample_size([20, 500, 50000], sd=2.0)
    >>> s.completes.tolist(), s.census.tolist()
    ([20, 55, 62], [True, False, False])
    """
    from scipy.stats import norm

    n_pop = _checks.as_count_array("population", population)
    sd_a = _checks.in_range("sd", sd, 0.0, np.inf)
    d = float(_checks.in_range("margin", margin, 0.0, np.inf, low_open=True, high_open=True))
    alpha = _checks.level_alpha(level)
    minimum_a = _checks.as_count_array("minimum", minimum)
    if minimum_a.ndim != 0:
        raise SamplingError(f"minimum={minimum!r} must be one whole number >= 0")
    rr = _checks.in_range("response_rate", response_rate, 0.0, 1.0, low_open=True)
    er = _checks.in_range("eligibility_rate", eligibility_rate, 0.0, 1.0, low_open=True)
    try:
        n_pop, sd_a, rr, er = np.broadcast_arrays(n_pop, sd_a, rr, er)
    except ValueError:
        raise SamplingError(
            f"population shape {np.shape(population)} and sd shape {np.shape(sd)} (and the "
            "rates) cannot be broadcast together; allowed: equal or broadcastable shapes"
        ) from None

    z = float(norm.ppf(1.0 - alpha / 2.0))
    n0 = (z * sd_a / d) ** 2
    nf = n_pop.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        n_fpc = np.where(nf > 0, n0 / (1.0 + n0 / np.where(nf > 0, nf, 1.0)), 0.0)
    need = np.maximum(np.ceil(n_fpc - 1e-9), float(minimum_a))
    completes = np.minimum(need, nf).astype(np.int64)
    census = completes >= n_pop
    inflated = np.ceil(completes / (rr * er) - 1e-9)
    release = np.where(census, nf, np.minimum(inflated, nf)).astype(np.int64)
    shortfall = inflated > nf
    cf = completes.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        achieved = z * sd_a * np.sqrt(np.clip(1.0 - cf / nf, 0.0, None) / cf)
    achieved = np.where(census & (n_pop > 0), 0.0, achieved)
    achieved = np.where(n_pop == 0, np.nan, achieved)
    return SampleSize(
        population=n_pop.copy(),
        n0=n0,
        n_fpc=n_fpc,
        completes=completes,
        release=release,
        census=census,
        shortfall=shortfall,
        margin=achieved,
        z=z,
    )
