# Reference values for tests/sensitivity/test_imputation.py: Rubin's rules with the
# Barnard-Rubin (1999) degrees of freedom, as R's mice pools one scalar.
# Run: Rscript tests/sensitivity/reference_pool.R   (mice 3.15.0, R 4.2)
# The test copies the printed numbers; the inputs below are written there too.
library(mice)
options(digits = 15)
show <- function(name, p) {
  cat(name, "\n")
  for (key in c("qbar", "ubar", "b", "t", "df", "r", "fmi")) cat(" ", key, format(p[[key]], digits = 15), "\n")
}
# case 1: m = 5, n = 120 rows, k = 3 coefficients
Q1 <- c(-1.52, -1.41, -1.63, -1.47, -1.58)
U1 <- c(0.170, 0.162, 0.181, 0.166, 0.175)
show("case1", pool.scalar(Q1, U1, n = 120, k = 3))
# case 2: m = 20, n = 401, k = 3 (the size of the Table 4 model)
Q2 <- c(0.46, 0.52, 0.41, 0.49, 0.44, 0.58, 0.39, 0.47, 0.51, 0.43,
        0.45, 0.50, 0.42, 0.55, 0.48, 0.40, 0.53, 0.46, 0.44, 0.49)
U2 <- c(0.188, 0.190, 0.186, 0.189, 0.187, 0.192, 0.185, 0.188, 0.190, 0.186,
        0.187, 0.189, 0.186, 0.191, 0.188, 0.185, 0.190, 0.188, 0.187, 0.189)
show("case2", pool.scalar(Q2, U2, n = 401, k = 3))
# case 3: large between-imputation variance, small n: the small-sample df bites
Q3 <- c(1.2, 0.4, 2.1, 0.9, 1.6)
U3 <- c(0.30, 0.25, 0.40, 0.28, 0.35)
show("case3", pool.scalar(Q3, U3, n = 30, k = 4))
# case 4: n = Inf gives Rubin's (1987) df
show("case4", pool.scalar(Q1, U1))
