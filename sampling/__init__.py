"""Survey statistics for the unit satisfaction survey: pure NumPy/SciPy, no service code.

Sizes and allocation (:mod:`sampling.design`, :mod:`sampling.allocation`), the reproducible
replicate draw, frame hash and its check (:mod:`sampling.draw`, :mod:`sampling.framehash`,
:mod:`sampling.verify`), weights and domain estimates (:mod:`sampling.weights`,
:mod:`sampling.estimate`, :mod:`sampling.proportions`), AAPOR outcome rates
(:mod:`sampling.rates`), rank probabilities (:mod:`sampling.ranking`), tests of the cuts
(:mod:`sampling.ranktests`), an empirical-Bayes view (:mod:`sampling.shrinkage`) and
non-response bounds and R-indicators (:mod:`sampling.nonresponse`). Every random number
comes from an explicit ``np.random.Generator(np.random.PCG64(seed))``; every result is a frozen
dataclass; every bad argument raises :class:`SamplingError`.
"""

from sampling.allocation import Allocation, allocate
from sampling.design import SampleSize, sample_size
from sampling.draw import Draw, draw
from sampling.errors import SamplingError
from sampling.estimate import DomainEstimates, domain_means
from sampling.framehash import frame_hash
from sampling.nonresponse import NonresponseBounds, RIndicator, nonresponse_bounds, r_indicator
from sampling.proportions import DomainProportions, domain_proportions, proportion_interval
from sampling.ranking import RankProbabilities, rank_probabilities
from sampling.ranktests import BoundaryTest, MedianTests, boundary_tests, median_tests
from sampling.rates import CODE_GROUP, GROUPS, AaporRates, aapor_rates
from sampling.shrinkage import Shrinkage, shrink_means
from sampling.subgroup import SubgroupEstimates, subgroup_means
from sampling.verify import DrawCheck, verify_draw
from sampling.weights import StratumWeights, stratum_weights

__all__ = [
    "CODE_GROUP",
    "GROUPS",
    "AaporRates",
    "Allocation",
    "BoundaryTest",
    "DomainEstimates",
    "DomainProportions",
    "Draw",
    "DrawCheck",
    "MedianTests",
    "NonresponseBounds",
    "RIndicator",
    "RankProbabilities",
    "SampleSize",
    "SamplingError",
    "Shrinkage",
    "StratumWeights",
    "SubgroupEstimates",
    "aapor_rates",
    "allocate",
    "boundary_tests",
    "domain_means",
    "domain_proportions",
    "draw",
    "frame_hash",
    "median_tests",
    "nonresponse_bounds",
    "proportion_interval",
    "r_indicator",
    "rank_probabilities",
    "sample_size",
    "shrink_means",
    "stratum_weights",
    "subgroup_means",
    "verify_draw",
]
