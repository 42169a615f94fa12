# Reference values for tests/sensitivity/test_calibration.py: the c-statistic (AUC) with
# DeLong's variance and its 95% CI, as pROC prints them.
# Run: Rscript tests/sensitivity/reference_delong.R   (pROC from r-cran-proc, R 4.2)
library(pROC)
options(digits = 15)
# a small example with ties within and across the outcomes
y <- c(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 1, 0)
p <- c(0.10, 0.20, 0.20, 0.30, 0.35, 0.40, 0.50, 0.50, 0.50, 0.60, 0.70, 0.20, 0.90, 0.65, 0.35, 0.05)
r <- roc(y, p, levels = c(0, 1), direction = "<", quiet = TRUE)
cat("auc", format(as.numeric(auc(r)), digits = 15), "\n")
cat("var", format(var(r, method = "delong"), digits = 15), "\n")
ci <- ci.auc(r, method = "delong", conf.level = 0.95)
cat("ci", format(as.numeric(ci), digits = 15), "\n")
# a larger one, reproducible without R's random numbers: p = fractional parts, y by rule
i <- 1:60
p2 <- round((i * 0.6180339887) %% 1, 2)
y2 <- as.integer(((i * 7) %% 11) < 4 + 5 * p2)
r2 <- roc(y2, p2, levels = c(0, 1), direction = "<", quiet = TRUE)
cat("p2", format(p2, nsmall = 2), "\n")
cat("y2", y2, "\n")
cat("n_events", sum(y2), "\n")
cat("auc2", format(as.numeric(auc(r2)), digits = 15), "\n")
cat("var2", format(var(r2, method = "delong"), digits = 15), "\n")
cat("ci2", format(as.numeric(ci.auc(r2, method = "delong")), digits = 15), "\n")
