# Writes the small fixture CSVs used by tests/stats (run from this folder):
#   Rscript make_fixtures.R
# R 4.2.2 (Debian r-base-core). The fixtures are committed; rerunning with
# the same R version reproduces them byte for byte.
#
# sex2.csv is NOT made here: it is the sex2 data set shipped with R's logistf
# (urinary tract infection in college women, 239 rows; Cytel LogXact manual;
# used by Heinze & Schemper 2002). logistf is not packaged for Debian, so it
# was exported once from the package's data/sex2.rda with
#   load("sex2.rda"); write.csv(sex2, "sex2.csv", row.names = FALSE)

set.seed(20200543)

# ---- groups.csv: three groups of a continuous value with ties and NAs -----
a <- round(rnorm(25, mean = 10, sd = 2), 1)
b <- round(exp(rnorm(30, mean = 2.3, sd = 0.5)), 1)   # right-skewed
c <- round(rnorm(20, mean = 11, sd = 3), 1)
a[c(4, 17)] <- NA
b[9] <- NA
groups <- data.frame(
  group = rep(c("a", "b", "c"), times = c(25, 30, 20)),
  value = c(a, b, c)
)
write.csv(groups, "groups.csv", row.names = FALSE, na = "")

# ---- skewed150.csv: n = 150 (> 100 triggers Dallal-Wilkinson rescaling) --
skew <- round(rexp(150, rate = 0.2), 2)
write.csv(data.frame(value = skew), "skewed150.csv", row.names = FALSE)

# ---- logit.csv: a cohort-like data set for logistic regression ------------
n <- 300
age <- round(runif(n, 40, 90))
male <- rbinom(n, 1, 0.5)
ckd <- rbinom(n, 1, 0.35)
dose <- round(pmax(5, rnorm(n, 30, 12)) / 5) * 5      # coarse: many ties
lp <- -6.5 + 0.06 * age + 0.4 * male + 1.3 * ckd + 0.04 * dose
event <- rbinom(n, 1, plogis(lp))
age[c(7, 150)] <- NA
event[33] <- NA
write.csv(data.frame(event, age, male, ckd, dose), "logit.csv", row.names = FALSE, na = "")
