"""Survey statistics for the unit satisfaction survey: pure NumPy/SciPy, no service code.

Sizes and allocation (:mod:`sampling.design`, :mod:`sampling.allocation`), the reproducible
replicate draw, frame hash and its check (:mod:`sampling.draw`, :mod:`sampling.framehash`,
:mod:`sampling.verify`), weights and domain estimates (:mod:`sampling.weights`,
:mod:`sampling.estimate`, :mod:`sampling.proportions`), AAPOR outcome rates
(:mod:`sampling.rates`) and rank probabilities (:mod:`sampling.ranking`). Every random number
comes from an explicit ``np.random.Generator(np.random.PCG64(seed))``; every result is a frozen
dataclass; every bad argument raises :class:`SamplingError`.
"""

from sampling.allocation import Allocation, allocate
from sampling.design import SampleSize, sample_size
from sampling.draw import Draw, draw
from sampling.errors import SamplingError
from sampling.estimate import DomainEstimates, domain_means
from sampling.framehash import frame_hash
from sampling.proportions import DomainProportions, domain_proportions, proportion_interval
from sampling.ranking import RankProbabilities, rank_probabilities
from sampling.rates import CODE_GROUP, GROUPS, AaporRates, aapor_rates
from sampling.subgroup import SubgroupEstimates, subgroup_means
from sampling.verify import DrawCheck, verify_draw
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
    "SubgroupEstimates",
    "aapor_rates",
    "allocate",
    "domain_means",
    "domain_proportions",
    "draw",
    "frame_hash",
    "proportion_interval",
    "rank_probabilities",
    "sample_size",
    "stratum_weights",
    "subgroup_means",
    "verify_draw",
]
