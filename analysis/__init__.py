"""Reproducible re-analysis of baclofen neurotoxicity in severe CKD.

Cheong M, Lee J, Lee TY, Kim SB. Nefrologia 2020;40(5):543-551. The package
turns a cohort (synthetic or a site's export) and a study file into the
paper's tables, figures and a report.
"""

__version__ = "0.1.0"
