"""The names of the tests as the Methods, footnotes and report print them.

A light module (no imports): the renderers and the report read these labels without
importing the table engine and its statistics (scipy, statsmodels).
:mod:`analysis.tables` re-exports both dicts under their old names.
"""

from __future__ import annotations

__all__ = ["NORMALITY_LABELS", "TEST_LABELS"]

TEST_LABELS = {
    "student_t": "Student's t-test (equal variances)",
    "welch_t": "Welch's t-test",
    "mann_whitney": "Mann-Whitney U test (asymptotic, tie-corrected, no continuity correction)",
    "mann_whitney_exact": "Mann-Whitney U test (exact)",
    "anova": "One-way ANOVA",
    "welch_anova": "Welch's ANOVA",
    "kruskal_wallis": "Kruskal-Wallis test (tie-corrected)",
    "chi_square": "Pearson chi-square test (no continuity correction)",
    "yates_chi_square": "Chi-square test with Yates' continuity correction",
    "fisher_exact": "Fisher's exact test",
    "fisher_exact_monte_carlo": "Fisher's exact test (Monte Carlo p-value)",
}
# The normality tests that choose a row's test, as the Methods and footnotes name them.
NORMALITY_LABELS = {
    "lilliefors": "Kolmogorov-Smirnov test with the Lilliefors correction",
    "ks_uncorrected": "Kolmogorov-Smirnov test (no correction)",
    "shapiro_wilk": "Shapiro-Wilk test",
}
