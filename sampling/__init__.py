"""Survey statistics for the unit satisfaction survey: pure NumPy/SciPy, no service code.

Sizes and allocation (:mod:`sampling.design`, :mod:`sampling.allocation`), the reproducible
replicate draw and frame hash (:mod:`sampling.draw`), weights and domain estimates
(:mod:`sampling.weights`, :mod:`sampling.estimate`), AAPOR outcome rates
(:mod:`sampling.rates`) and rank probabilities (:mod:`sampling.ranking`). Every random number
comes from an explicit ``np.random.Generator(np.random.PCG64(seed))``; every result is a frozen
dataclass; every bad argument raises :class:`SamplingError`.
"""

from sampling.allocation import Allocation, allocate
from sampling.design import SampleSize, sample_size
from sampling.draw import Draw, DrawCheck, draw, frame_hash, verify_draw
from sampling.errors import SamplingError
from sampling.estimate import (
    DomainEstimates,
    DomainProportions,
    domain_means,
    domain_proportions,
)
from sampling.ranking import RankProbabilities, rank_probabilities
from sampling.rates import CODE_GROUP, GROUPS, AaporRates, aapor_rates
from sampling.weights import StratumWeights, stratum_weights

__all__ = [
    "CODE_GROUP",
    "GROUPS",
    "AaporRates",
    "Allocation",
    "DomainEstimates",
    "DomainProportions",
    "Draw",
    "DrawCheck",
    "RankProbabilities",
    "SampleSize",
    "SamplingError",
    "StratumWeights",
    "aapor_rates",
    "allocate",
    "domain_means",
    "domain_proportions",
    "draw",
    "frame_hash",
    "rank_probabilities",
    "sample_size",
    "stratum_weights",
    "verify_draw",
]
