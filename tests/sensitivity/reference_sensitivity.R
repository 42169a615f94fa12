# Reference values for tests/sensitivity/test_*.py, on reference_small.csv (60 patients).
# Run from this folder:  Rscript reference_sensitivity.R > reference_sensitivity.out
# R 4.2, base stats and MASS (confint) only. nortest is not installed: the Lilliefors p is
# not checked here, its D is the K-S D printed below. logistf is not installed: Firth's
# fit is written out below from Firth 1993 / Heinze & Schemper 2002.

options(digits = 15)
show <- function(label, x) cat(sprintf("%-48s %s\n", label, paste(sprintf("%.15g", x), collapse = " ")))
d <- read.csv("reference_small.csv")

cat("## categorical rows: Pearson chi-square (no correction) and Fisher's exact\n")
for (g in c("ckd_group", "neurotoxicity")) for (v in c("sex", "reason")) {
  t <- table(d[[g]], d[[v]])
  show(sprintf("%s x %s chisq p", g, v), suppressWarnings(chisq.test(t, correct = FALSE))$p.value)
  show(sprintf("%s x %s min expected", g, v), min(suppressWarnings(chisq.test(t))$expected))
  show(sprintf("%s x %s fisher p", g, v), fisher.test(t)$p.value)
}
cat("## two groups (neurotoxicity): Student, Welch, Mann-Whitney\n")
for (v in c("age", "weight", "albumin", "daily_dose", "crp")) {
  x <- d[[v]][d$neurotoxicity == 0]; y <- d[[v]][d$neurotoxicity == 1]
  show(sprintf("%s student p", v), t.test(x, y, var.equal = TRUE)$p.value)
  show(sprintf("%s welch t, df, p", v), unlist(t.test(x, y, var.equal = FALSE)[c("statistic", "parameter", "p.value")]))
  show(sprintf("%s mann-whitney p", v), wilcox.test(x, y, exact = FALSE, correct = FALSE)$p.value)
}
cat("## three groups (ckd_group): ANOVA, Welch ANOVA, Kruskal-Wallis\n")
for (v in c("age", "weight", "albumin", "daily_dose", "crp")) {
  f <- as.formula(paste(v, "~ factor(ckd_group)"))
  show(sprintf("%s anova p", v), oneway.test(f, d, var.equal = TRUE)$p.value)
  show(sprintf("%s welch anova F, df2, p", v), unlist(oneway.test(f, d, var.equal = FALSE)[c("statistic", "parameter", "p.value")])[c(1, 3, 4)])
  show(sprintf("%s kruskal p", v), kruskal.test(f, d)$p.value)
}
cat("## normality per group: K-S uncorrected (asymptotic; D = Lilliefors D), Shapiro-Wilk\n")
for (g in c("ckd_group", "neurotoxicity")) for (v in c("age", "weight", "albumin", "daily_dose", "crp")) {
  for (k in sort(unique(d[[g]]))) {
    x <- d[[v]][d[[g]] == k]
    ks <- suppressWarnings(ks.test(x, "pnorm", mean(x), sd(x), exact = FALSE))
    show(sprintf("%s %s=%s ks D, ks p, shapiro p", v, g, k),
         c(ks$statistic, ks$p.value, shapiro.test(x)$p.value))
  }
}

cat("## logistic regression (glm to epsilon 1e-14: its SEs use the last iteration weights; Wald CI = exp(b +- qnorm(.975) se))\n")
fit <- glm(neurotoxicity ~ albumin + diabetic_nephropathy, binomial, d, control = glm.control(epsilon = 1e-14, maxit = 100))
co <- summary(fit)$coefficients
show("ml coef", co[, 1]); show("ml se", co[, 2]); show("ml p", co[, 4])
z <- qnorm(0.975)
show("ml albumin OR, low, high", exp(co[2, 1] + c(0, -z, z) * co[2, 2]))
sdalb <- sd(d$albumin); show("sd albumin", sdalb)
fit05 <- glm(neurotoxicity ~ I(albumin / 0.5) + diabetic_nephropathy, binomial, d, control = glm.control(epsilon = 1e-14, maxit = 100))
c05 <- summary(fit05)$coefficients
show("refit per 0.5 OR, low, high, p", c(exp(c05[2, 1] + c(0, -z, z) * c05[2, 2]), c05[2, 4]))
fitsd <- glm(neurotoxicity ~ I(albumin / sdalb) + diabetic_nephropathy, binomial, d, control = glm.control(epsilon = 1e-14, maxit = 100))
csd <- summary(fitsd)$coefficients
show("refit per SD OR, low, high, p", c(exp(csd[2, 1] + c(0, -z, z) * csd[2, 2]), csd[2, 4]))
show("refit per SD profile CI (MASS)", exp(suppressMessages(confint(fitsd))[2, ]))
show("per 1 profile CI (MASS)", exp(suppressMessages(confint(fit))[2, ]))
adj <- glm(neurotoxicity ~ albumin + diabetic_nephropathy + age + factor(sex) + factor(ckd_group) + daily_dose, binomial, d, control = glm.control(epsilon = 1e-14, maxit = 100))
ca <- summary(adj)$coefficients
show("adjusted coef", ca[, 1]); show("adjusted se", ca[, 2]); show("adjusted p", ca[, 4])
show("events, n", c(sum(d$neurotoxicity), nrow(d)))

cat("## Firth (penalised likelihood, Newton on the modified score; SE from (X'WX)^-1)\n")
firth <- function(X, y, fixed = integer(0), values = 0, tol = 1e-12) {
  b <- rep(0, ncol(X)); b[fixed] <- values; b[1] <- qlogis(mean(y)); free <- setdiff(seq_len(ncol(X)), fixed)
  pl <- function(b) { p <- plogis(X %*% b); w <- as.vector(p * (1 - p))
    sum(dbinom(y, 1, p, log = TRUE)) + 0.5 * determinant(t(X) %*% (X * w))$modulus }
  for (i in 1:500) {
    p <- as.vector(plogis(X %*% b)); w <- p * (1 - p); I <- t(X) %*% (X * w)
    h <- w * rowSums((X %*% solve(I)) * X)
    U <- t(X) %*% (y - p + h * (0.5 - p))
    step <- rep(0, ncol(X)); step[free] <- solve(I[free, free, drop = FALSE], U[free])
    if (max(abs(step)) > 5) step <- step * 5 / max(abs(step))  # logistf's maxstep
    b <- b + step
    if (max(abs(step)) < tol) break
  }
  p <- as.vector(plogis(X %*% b)); w <- p * (1 - p)
  list(coef = b, se = sqrt(diag(solve(t(X) %*% (X * w)))), pl = as.numeric(pl(b)))
}
X <- cbind(1, d$albumin, d$diabetic_nephropathy); y <- d$neurotoxicity
ff <- firth(X, y)
show("firth coef", ff$coef); show("firth se", ff$se)
plr <- sapply(2:3, function(j) 2 * (ff$pl - firth(X, y, fixed = j)$pl))
show("firth plr chisq", plr); show("firth plr p", pchisq(plr, 1, lower.tail = FALSE))
# 95% profile penalised-likelihood limits (logistf's ci.lower / ci.upper), on the OR scale
excess <- function(v, j) 2 * (ff$pl - firth(X, y, fixed = j, values = v)$pl) - qchisq(0.95, 1)
for (j in 2:3) {
  lo <- uniroot(excess, c(ff$coef[j] - 4 * ff$se[j], ff$coef[j]), j = j, tol = 1e-12)$root
  hi <- uniroot(excess, c(ff$coef[j], ff$coef[j] + 4 * ff$se[j]), j = j, tol = 1e-12)$root
  show(sprintf("firth profile CI OR term %d", j), exp(c(lo, hi)))
}

cat("## daily dose of the neurotoxic patients by CKD group (quantile type 6)\n")
for (k in 1:3) {
  x <- d$daily_dose[d$neurotoxicity == 1 & d$ckd_group == k]
  show(sprintf("ckd %d n, min, q1, median, q3, max", k), c(length(x), min(x), quantile(x, c(.25, .5, .75), type = 6), max(x)))
  show(sprintf("ckd %d n <= 7.5, n <= 2.5", k), c(sum(x <= 7.5), sum(x <= 2.5)))
}
x <- d$daily_dose[d$neurotoxicity == 1 & d$ckd_group %in% 1:2]
show("ckd 1-2 n, min, q1, median, q3, max", c(length(x), min(x), quantile(x, c(.25, .5, .75), type = 6), max(x)))
