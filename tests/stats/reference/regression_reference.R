# Reference values for tests/stats/test_regression.py. Run from this folder:
#   Rscript regression_reference.R > regression_reference.out
# R 4.2.2, base R only (stats::glm). logistf is not packaged for Debian and
# there is no CRAN access, so Firth's method is implemented below from its
# definition (Firth 1993; Heinze & Schemper 2002): penalised log-likelihood
# l*(b) = l(b) + 1/2 log|X'W(b)X|, tests and profile CIs from l* with the
# penalty always computed on the full design (as logistf does).
options(digits = 15)
show <- function(label, x) cat(sprintf("%-40s %s\n", label, paste(sprintf("%.15g", x), collapse = " ")))

# ---------------------------------------------------------------- helpers --
hl_type2 <- function(y, p, g = 10) {
  # Deciles of risk with cut points = quantile(type = 2) (Stata _pctile);
  # group = first cut point >= p, so tied p share a group; empty groups dropped.
  cuts <- quantile(p, probs = (1:(g - 1)) / g, type = 2, names = FALSE)
  grp <- findInterval(p, cuts, left.open = TRUE) + 1
  o1 <- tapply(y, grp, sum); e1 <- tapply(p, grp, sum); ng <- tapply(p, grp, length)
  o0 <- ng - o1; e0 <- ng - e1
  stat <- sum((o1 - e1)^2 / e1 + (o0 - e0)^2 / e0)
  k <- length(ng)
  c(stat, k - 2, pchisq(stat, k - 2, lower.tail = FALSE), k)
}
c_pairs <- function(y, p) {
  # concordance over all event/non-event pairs, ties count 1/2
  p1 <- p[y == 1]; p0 <- p[y == 0]
  cmp <- outer(p1, p0, "-")
  (sum(cmp > 0) + 0.5 * sum(cmp == 0)) / length(cmp)
}
ml_report <- function(fit, tag) {
  co <- summary(fit)$coefficients
  ci <- confint.default(fit)                  # Wald: b -/+ qnorm(.975) se
  show(paste(tag, "B"), co[, 1]); show(paste(tag, "SE"), co[, 2])
  show(paste(tag, "Wald=(B/SE)^2"), (co[, 1] / co[, 2])^2)
  show(paste(tag, "p (Wald)"), co[, 4])
  show(paste(tag, "exp(CI low)"), exp(ci[, 1])); show(paste(tag, "exp(CI high)"), exp(ci[, 2]))
  n <- length(fit$y)
  ll <- as.numeric(logLik(fit)); ll0 <- -fit$null.deviance / 2
  cs <- 1 - exp(2 * (ll0 - ll) / n)
  show(paste(tag, "deviance=-2LL, null dev"), c(fit$deviance, fit$null.deviance))
  show(paste(tag, "Cox-Snell, Nagelkerke"), c(cs, cs / (1 - exp(2 * ll0 / n))))
  p <- fitted(fit)
  show(paste(tag, "c (pairwise)"), c_pairs(fit$y, p))
  show(paste(tag, "HL stat, df, p, groups"), hl_type2(fit$y, p))
}

# ------------------------------------------------------------ ML: logit.csv --
d <- read.csv("logit.csv")
fit <- glm(event ~ age + male + ckd + dose, family = binomial, data = d,
           control = glm.control(epsilon = 1e-14, maxit = 100))
show("logit.csv n used", length(fit$y))
ml_report(fit, "logit")

# -------------------------------------------------------------- ML: sex2 ----
# With dia the ML estimate does not exist (quasi-complete separation: every
# dia = 1 subject is a case); glm stops with B(dia) ~ 30 and a huge SE.
s <- read.csv("sex2.csv")
show("sex2 table(dia, case)", table(s$dia, s$case))
fs <- glm(case ~ age + oc + vic + vicl + vis, family = binomial, data = s,
          control = glm.control(epsilon = 1e-14, maxit = 100))
ml_report(fs, "sex2 ML without dia")   # binary predictors: many tied fitted p

# ------------------------------------------------ HL grouping with ties -----
p_t <- c(rep(0.05, 7), rep(0.1, 5), rep(0.2, 9), rep(0.35, 4), rep(0.5, 6), rep(0.7, 5), rep(0.9, 4))
y_t <- c(1,0,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,1,0,0,0,1,1,1,0,1,0,1,0,1,1,1,1,1,0,1,1,1,1)
show("ties: type-2 cut points", quantile(p_t, (1:9) / 10, type = 2, names = FALSE))
show("ties: HL stat, df, p, groups", hl_type2(y_t, p_t))
show("ties: c (pairwise)", c_pairs(y_t, p_t))

# ------------------------------------------------------------ Firth: sex2 ---
X <- cbind(1, as.matrix(s[, c("age", "oc", "vic", "vicl", "vis", "dia")]))
y <- s$case
pen_ll <- function(b) {
  p <- plogis(drop(X %*% b))
  sum(y * log(p) + (1 - y) * log(1 - p)) +
    0.5 * as.numeric(determinant(crossprod(X, X * (p * (1 - p))))$modulus)
}
firth_fit <- function(free = seq_len(ncol(X)), b = rep(0, ncol(X))) {
  for (it in 1:500) {
    p <- plogis(drop(X %*% b)); w <- p * (1 - p)
    info <- crossprod(X, X * w)
    h <- rowSums((X %*% solve(info)) * X) * w            # hat diagonal
    u <- crossprod(X, y - p + h * (0.5 - p))[, 1]       # modified score
    step <- solve(info[free, free, drop = FALSE], u[free])
    old <- pen_ll(b); s <- 1
    repeat {                                            # step halving
      nb <- b; nb[free] <- b[free] + s * step
      if (pen_ll(nb) >= old - 1e-12 || s < 1e-8) break
      s <- s / 2
    }
    b <- nb
    if (max(abs(s * step)) < 1e-13) break
  }
  b
}
bf <- firth_fit()
llf <- pen_ll(bf)
se <- sqrt(diag(solve(crossprod(X, X * (plogis(drop(X %*% bf)) * (1 - plogis(drop(X %*% bf))))))))
show("firth B", bf); show("firth SE", se); show("firth penalised loglik", llf)
plr <- sapply(seq_len(ncol(X)), function(j) {
  b0 <- bf; b0[j] <- 0
  2 * (llf - pen_ll(firth_fit(setdiff(seq_len(ncol(X)), j), b0)))
})
show("firth PLR chi2", plr); show("firth PLR p", pchisq(plr, 1, lower.tail = FALSE))
crit <- qchisq(0.95, 1)
prof <- function(j, v) {
  b0 <- bf; b0[j] <- v
  2 * (llf - pen_ll(firth_fit(setdiff(seq_len(ncol(X)), j), b0))) - crit
}
bound <- function(j, dir) {
  hi <- bf[j] + dir * se[j]
  while (prof(j, hi) < 0) hi <- hi + dir * se[j]
  uniroot(function(v) prof(j, v), sort(c(bf[j], hi)), tol = 1e-11)$root
}
lo <- sapply(seq_len(ncol(X)), bound, dir = -1)
up <- sapply(seq_len(ncol(X)), bound, dir = 1)
show("firth profile CI low (B scale)", lo); show("firth profile CI high (B scale)", up)
# logistf's null model: intercept only, other B fixed at 0, full-design penalty
b0 <- rep(0, ncol(X)); bn <- firth_fit(1, b0)
show("firth null penalised loglik", pen_ll(bn))
show("firth model LR chi2, p (6 df)", c(2 * (llf - pen_ll(bn)), pchisq(2 * (llf - pen_ll(bn)), 6, lower.tail = FALSE)))
