"""Statistics layer: descriptives, normality, group tests, tables, models.

Every public function takes plain arrays (or a DataFrame for the models),
drops missing values (available cases; complete cases for models), and
returns a JSON-serialisable dict with the shared keys ``statistic``, ``df``,
``p_value``, ``n``, ``method``, ``ci_low``, ``ci_high`` where they apply.
Numbers are unrounded; formatting belongs to the renderers. The SPSS 20
correspondences are listed in ``shared/study/spss_parity.md``.
"""

from .contingency import chi_square, chi_square_tests, fisher_exact, table_from_codes
from .descriptive import categorical_summary, continuous_summary
from .effect_size import smd_categorical, smd_continuous, smd_max_pairwise
from .nonparametric import kruskal_wallis, mann_whitney
from .normality import ks_uncorrected, lilliefors, normality, shapiro_wilk
from .parametric import levene_mean, one_way_anova, student_t, welch_anova, welch_t
from .regression import c_statistic, firth_logistic, hosmer_lemeshow, logistic_regression

__all__ = [
    "c_statistic",
    "categorical_summary",
    "chi_square",
    "chi_square_tests",
    "continuous_summary",
    "firth_logistic",
    "fisher_exact",
    "hosmer_lemeshow",
    "kruskal_wallis",
    "ks_uncorrected",
    "levene_mean",
    "lilliefors",
    "logistic_regression",
    "mann_whitney",
    "normality",
    "one_way_anova",
    "shapiro_wilk",
    "smd_categorical",
    "smd_continuous",
    "smd_max_pairwise",
    "student_t",
    "table_from_codes",
    "welch_anova",
    "welch_t",
]
