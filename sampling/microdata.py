"""Microdata that R and Stata read right: design columns, loader scripts, data dictionary.

Giving ``1 - f`` as R ``svydesign(fpc=)`` makes R take it as a sampling *fraction* and
silently gives wrong SEs. The design columns here say what they are:

``vstrat``
    Variance stratum (the sub-stratum after collapsing thin ones, :mod:`sampling.weights`),
    labelled ``domain|label`` so that it is unique across units.
``N_vstrat``
    Population size of the variance stratum (clients in the frame): R ``fpc=~N_vstrat``,
    Stata ``fpc(N_vstrat)`` both read a number above 1 as a population size.
``f_vstrat``
    Sampling fraction ``r_g / N_g`` (respondents with a valid answer over clients), for
    reading only.
``weight``
    ``N_h / r_h``.
``df``
    The unit's design degrees of freedom ``n - H``.

The weights and fractions belong to one item (the rows with a valid answer to it); a
respondent without a valid answer has empty design columns and must be left out before the
design is declared, as the scripts do. Units are separate populations, so each unit's
estimate is the mean of its own design; the scripts loop over units and use the exported
``df`` for the interval, which reproduces :func:`sampling.domain_means` (``"taylor"`` and
``"census"`` rows; zero-variance rows use a rule R and Stata do not have).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sampling import _checks
from sampling.weights import stratum_weights

__all__ = [
    "COLUMNS",
    "MicrodataDesign",
    "data_dictionary",
    "design_columns",
    "r_script",
    "stata_do",
]

#: Default column names of the design columns (ASCII, so that every tool reads them).
COLUMNS = {
    "unit": "unit",
    "stratum": "stratum",
    "vstrat": "vstrat",
    "weight": "weight",
    "N_vstrat": "N_vstrat",
    "f_vstrat": "f_vstrat",
    "df": "df",
    "score": "score",
}


@dataclass(frozen=True)
class MicrodataDesign:
    """Result of :func:`design_columns`, aligned with the input rows (NaN/"" where no answer).

    Attributes
    ----------
    weight, N_vstrat, f_vstrat, df : ndarray of float64
    vstrat : ndarray of str
    """

    weight: np.ndarray
    vstrat: np.ndarray
    N_vstrat: np.ndarray
    f_vstrat: np.ndarray
    df: np.ndarray


def design_columns(y, domain, stratum, stratum_population) -> MicrodataDesign:
    """Design columns of each respondent row for one item (see the module docstring).

    Parameters
    ----------
    y : array_like of float, length n
        The item's answers; NaN rows get empty design columns.
    domain, stratum, stratum_population
        As for :func:`sampling.domain_means`.

    Returns
    -------
    MicrodataDesign

    References
    ----------
    .. [1] Lumley, T. (2010), *Complex Surveys: A Guide to Analysis Using R*, Wiley, sec. 2.2
       (``fpc`` as population size or fraction).
    .. [2] StataCorp, *Stata Survey Data Reference Manual*, ``svyset`` (``fpc()``).

    Examples
    --------
    >>> d = design_columns([7.0, 9.0, float("nan")], ["u"] * 3, ["x"] * 3, {("u", "x"): 40})
    >>> d.weight.tolist()[:2], d.N_vstrat.tolist()[:2], d.f_vstrat.tolist()[:2], str(d.vstrat[0])
    ([20.0, 20.0], [40.0, 40.0], [0.05, 0.05], 'u|x')
    """
    ya = _checks.as_float_array("y", y, ndim=1)
    dom = _checks.labels("domain", domain)
    stra = _checks.labels("stratum", stratum)
    _checks.same_length(y=ya, domain=dom, stratum=stra)
    ok = ~np.isnan(ya)
    w = stratum_weights(dom[ok], stra[ok], stratum_population)
    g = w.group
    names = np.array(
        [
            f"{d}|{lab}"
            for d, lab in zip(
                w.domains[w.group_domain].tolist(), w.group_label.tolist(), strict=True
            )
        ],
        dtype=object,
    )
    h = np.bincount(w.group_domain, weights=w.group_respondents > 0, minlength=w.domains.size)
    df_d = w.domain_respondents - h
    out = {k: np.full(ya.size, np.nan) for k in ("weight", "N", "f", "df")}
    vstrat = np.full(ya.size, "", dtype=object)
    out["weight"][ok] = w.weight
    out["N"][ok] = w.group_population[g]
    out["f"][ok] = w.group_respondents[g] / w.group_population[g]
    out["df"][ok] = df_d[w.domain_code]
    vstrat[ok] = names[g]
    return MicrodataDesign(
        weight=out["weight"],
        vstrat=vstrat.astype(str),
        N_vstrat=out["N"],
        f_vstrat=out["f"],
        df=out["df"],
    )


def r_script(csv_name: str, columns: dict | None = None, out_name: str = "estimates_r.csv") -> str:
    """An R script (package ``survey``) that loads the microdata and re-estimates every unit.

    Parameters
    ----------
    csv_name : str
        The microdata CSV (UTF-8, header row).
    columns : dict, optional
        Names of the columns, keys as :data:`COLUMNS`.
    out_name : str
        CSV the script writes: ``unit, n, mean, se, ci_low, ci_high, df`` (17 digits).

    Returns
    -------
    str

    References
    ----------
    .. [1] Lumley, T. (2004), "Analysis of complex survey samples", *J. Statistical
       Software* 9(8).
    """
    c = {**COLUMNS, **(columns or {})}
    return f"""# Re-estimate every unit's mean from the microdata with R's survey package.
# Each unit is its own population: one design per unit, strata = variance strata,
# fpc = the variance stratum's population size, weights N_h/r_h, df = the exported n - H.
library(survey)
d <- read.csv("{csv_name}", fileEncoding = "UTF-8", check.names = FALSE,
              stringsAsFactors = FALSE, colClasses = c(`{c["unit"]}` = "character"))
d <- d[!is.na(d[["{c["score"]}"]]) & !is.na(d[["{c["weight"]}"]]), ]
rows <- list()
for (u in sort(unique(d[["{c["unit"]}"]]))) {{
  du <- d[d[["{c["unit"]}"]] == u, ]
  des <- svydesign(ids = ~1, strata = ~`{c["vstrat"]}`, weights = ~`{c["weight"]}`,
                   fpc = ~`{c["N_vstrat"]}`, data = du)
  m <- svymean(~`{c["score"]}`, des)
  df <- du[["{c["df"]}"]][1]
  ci <- if (SE(m)[1] > 0) confint(m, df = df) else matrix(c(coef(m), coef(m)), 1)
  ci <- pmin(pmax(ci, 0), 10)  # the published intervals are kept on the 0-10 scale
  rows[[u]] <- data.frame(unit = u, n = nrow(du), mean = sprintf("%.17g", coef(m)[1]),
                          se = sprintf("%.17g", SE(m)[1]), ci_low = sprintf("%.17g", ci[1]),
                          ci_high = sprintf("%.17g", ci[2]), df = df)
}}
write.csv(do.call(rbind, rows), "{out_name}", row.names = FALSE)
"""


def stata_do(
    csv_name: str, columns: dict | None = None, out_name: str = "estimates_stata.csv"
) -> str:
    """A Stata do-file that loads the microdata and re-estimates every unit the same way.

    Parameters
    ----------
    csv_name : str
    columns : dict, optional
        Names of the columns (keys as :data:`COLUMNS`); they must be valid Stata names.
    out_name : str
        CSV the do-file writes: ``unit, n, mean, se, ci_low, ci_high, df`` (17 digits), as
        :func:`r_script`.

    Returns
    -------
    str

    Notes
    -----
    ``import delimited`` lower-cases variable names unless told ``case(preserve)``, which
    would lose ``N_vstrat``. Each unit is ``svyset`` with ``strata(vstrat)``,
    ``fpc(N_vstrat)`` (a number above 1 is read as the population size) and
    ``pweight=weight``; ``svy, dof(df)`` uses the unit's exported df (``n - H``) for the
    t interval, ``invttail(df, 0.025)``, which is then held to 0-10 like the published one.

    References
    ----------
    .. [1] StataCorp, *Stata Survey Data Reference Manual*, ``svyset``, ``svy: mean``.
    """
    c = {**COLUMNS, **(columns or {})}
    return f"""* Re-estimate every unit's mean from the microdata (Stata 14 or later).
* One design per unit: strata = variance strata ({c["vstrat"]}), fpc = their population
* sizes ({c["N_vstrat"]}), pweights N_h/r_h ({c["weight"]}); the interval uses the exported
* degrees of freedom ({c["df"]} = n - H of the unit) through svy's dof() option.
import delimited using "{csv_name}", encoding("utf-8") case(preserve) stringcols(_all) clear
destring {c["weight"]} {c["N_vstrat"]} {c["f_vstrat"]} {c["df"]} {c["score"]}, replace
drop if missing({c["score"]}) | missing({c["weight"]})
tempname results
tempfile estimates
postfile `results' str244 unit double n double mean double se double ci_low ///
    double ci_high double df using `estimates'
levelsof {c["unit"]}, local(units)
foreach u of local units {{
    preserve
    keep if {c["unit"]} == "`u'"
    scalar dof = {c["df"]}[1]
    if scalar(dof) < 1 {{
        * one respondent: no design-based interval (published with the exact bound)
        restore
        continue
    }}
    svyset _n [pweight={c["weight"]}], strata({c["vstrat"]}) fpc({c["N_vstrat"]})
    svy, dof(`=scalar(dof)'): mean {c["score"]}
    scalar m = _b[{c["score"]}]
    scalar s = _se[{c["score"]}]
    scalar q = invttail(scalar(dof), 0.025)
    * the published interval is this one held to the 0-10 scale
    post `results' ("`u'") (_N) (scalar(m)) (scalar(s)) ///
        (max(0, scalar(m) - scalar(q) * scalar(s))) ///
        (min(10, scalar(m) + scalar(q) * scalar(s))) (scalar(dof))
    restore
}}
postclose `results'
use `estimates', clear
format mean se ci_low ci_high %21.17g
export delimited using "{out_name}", replace
"""


def data_dictionary(columns: dict | None = None) -> str:
    """Plain-text dictionary of the design columns (Markdown table), for the export.

    Parameters
    ----------
    columns : dict, optional
        Names of the columns, keys as :data:`COLUMNS`.

    Returns
    -------
    str

    References
    ----------
    .. [1] Lumley, T. (2010), *Complex Surveys*, Wiley, sec. 2.2.
    """
    c = {**COLUMNS, **(columns or {})}
    rows = [
        ("unit", "Unit code: each unit is its own population (domain)."),
        ("stratum", "Sub-stratum of the respondent within the unit (client kind)."),
        ("vstrat", "Variance stratum after collapsing thin sub-strata, unique across units."),
        ("weight", "Design weight N_h / r_h (empty where the score is missing)."),
        ("N_vstrat", "Population size of the variance stratum: give it as fpc (R, Stata)."),
        ("f_vstrat", "Sampling fraction r_g / N_g of the variance stratum (read only)."),
        ("df", "Design degrees of freedom of the unit, respondents minus variance strata."),
        ("score", "Score on 0-10; empty for no valid answer (never zero)."),
    ]
    lines = ["| column | meaning |", "|---|---|"]
    lines += [f"| {c[k]} | {text} |" for k, text in rows]
    return "\n".join(lines) + "\n"
