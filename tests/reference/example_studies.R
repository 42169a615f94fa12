# Independent reference values for the example studies under studies/examples/.
#
# R computes, from the same CSV files and with the same inclusion criteria and
# derived variables as the study files declare, every test a table row may choose
# (so the Python test checks whichever one the policy picked) and the logistic
# models with their per-factor Wald and likelihood-ratio tests. Run from the project
# root, by hand (R is not needed by the test suite):
#
#   Rscript tests/reference/example_studies.R
#
# It writes tests/reference/example_studies.json.

library(jsonlite)
library(car)

ex <- "studies/examples"

two_or_more <- function(x, g) {
  ok <- !is.na(x) & !is.na(g)
  x <- x[ok]
  g <- factor(g[ok])
  out <- list(
    n = as.list(tapply(x, g, length)),
    mean = as.list(tapply(x, g, mean)),
    sd = as.list(tapply(x, g, sd)),
    median = as.list(tapply(x, g, median))
  )
  if (nlevels(g) == 2) {
    out$student_t <- t.test(x ~ g, var.equal = TRUE)$p.value
    out$welch_t <- t.test(x ~ g, var.equal = FALSE)$p.value
    # SPSS's Mann-Whitney: normal approximation with the tie correction, no
    # continuity correction.
    out$mann_whitney <- wilcox.test(x ~ g, exact = FALSE, correct = FALSE)$p.value
  } else {
    out$anova <- anova(lm(x ~ g))[["Pr(>F)"]][1]
    out$welch_anova <- oneway.test(x ~ g, var.equal = FALSE)$p.value
    out$kruskal_wallis <- kruskal.test(x ~ g)$p.value
  }
  out
}

categorical <- function(x, g) {
  ok <- !is.na(x) & !is.na(g)
  tab <- table(x[ok], g[ok])
  test <- suppressWarnings(chisq.test(tab, correct = FALSE))
  list(
    counts = unname(lapply(seq_len(nrow(tab)), function(i) as.integer(tab[i, ]))),
    levels = rownames(tab),
    chi_square = unname(test$p.value),
    statistic = unname(test$statistic)
  )
}

table_of <- function(data, group, continuous, cats) {
  rows <- list()
  for (v in continuous) rows[[v]] <- two_or_more(data[[v]], data[[group]])
  for (v in cats) rows[[v]] <- categorical(data[[v]], data[[group]])
  rows
}

model_of <- function(formula, data, factors) {
  # Converged far past glm's default (1e-8 on the deviance), so the SEs are exact to 1e-6.
  fit <- glm(formula, data = data, family = binomial,
             control = glm.control(epsilon = 1e-14, maxit = 100))
  s <- summary(fit)$coefficients
  wald <- Anova(fit, type = 3, test.statistic = "Wald")
  lr <- drop1(fit, test = "LRT")
  list(
    n = nobs(fit),
    terms = rownames(s),
    estimate = unname(s[, 1]),
    se = unname(s[, 2]),
    p_value = unname(s[, 4]),
    # Profile-likelihood limits (MASS's profile method: a spline through the signed
    # root deviance, so good to about 1e-4 rather than to the last digit).
    profile_ci = unname(lapply(seq_len(nrow(s)), function(i) {
      as.numeric(exp(suppressMessages(confint(fit)))[i, ])
    })),
    minus2ll = -2 * as.numeric(logLik(fit)),
    aic = AIC(fit),
    bic = BIC(fit),
    factor_wald = lapply(setNames(factors, factors), function(f) list(
      statistic = wald[f, "Chisq"], df = wald[f, "Df"], p_value = wald[f, "Pr(>Chisq)"]
    )),
    term_lr = lapply(setNames(rownames(lr)[-1], rownames(lr)[-1]), function(t) list(
      statistic = lr[t, "LRT"], df = lr[t, "Df"], p_value = lr[t, "Pr(>Chi)"]
    ))
  )
}

# --- pbc: the 312 randomised patients -------------------------------------------
pbc <- read.csv(file.path(ex, "pbc", "pbc.csv"), check.names = FALSE)
pbc <- pbc[!is.na(pbc$trt), ]
pbc$dead <- as.integer(pbc$status == 2)
# The study file derives a three-level grade from edema (0, 0.5, 1).
pbc$edema_grade <- relevel(factor(match(pbc$edema, c(0, 0.5, 1)) - 1), ref = "0")
pbc_ref <- list(
  n = nrow(pbc),
  by_treatment = table_of(
    pbc, "trt",
    c("age", "bili", "chol", "albumin", "copper", "alk.phos", "ast", "trig",
      "platelet", "protime"),
    c("sex", "ascites", "hepato", "spiders", "edema_grade", "stage", "dead")
  ),
  by_stage = table_of(pbc, "stage", c("age", "albumin", "bili", "protime"), c("dead")),
  death = model_of(dead ~ age + albumin + bili + edema_grade, pbc, c("edema_grade"))
)

# --- birthwt: all 189 births ----------------------------------------------------
bw <- read.csv(file.path(ex, "birthwt", "birthwt.csv"))
bw$ptd <- as.integer(bw$ptl > 0)
bw$ftv_group <- ifelse(bw$ftv == 0, 0L, ifelse(bw$ftv == 1, 1L, 2L))
bw$race <- relevel(factor(bw$race), ref = "1")
bw_ref <- list(
  n = nrow(bw),
  by_low = table_of(
    bw, "low", c("age", "lwt"), c("race", "smoke", "ptd", "ht", "ui", "ftv_group")
  ),
  by_race = table_of(bw, "race", c("bwt", "age", "lwt"), c("low")),
  low_birth_weight = model_of(
    low ~ age + lwt + race + smoke + ptd + ht + ui, bw, c("race")
  )
)

# --- fair: 6,366 married women --------------------------------------------------
fair <- read.csv(file.path(ex, "fair", "fair.csv"))
fair$affair <- as.integer(fair$affairs > 0)
fair_ref <- list(
  n = nrow(fair),
  by_affair = table_of(
    fair, "affair", c("age", "yrs_married", "children", "educ"),
    c("rate_marriage", "religious", "occupation")
  ),
  by_occupation = table_of(fair, "occupation", c("age", "educ"), c("affair")),
  affair = model_of(
    affair ~ rate_marriage + age + yrs_married + children + religious,
    within(fair, {
      rate_marriage <- relevel(factor(rate_marriage), ref = "5")
      religious <- relevel(factor(religious), ref = "1")
    }),
    c("rate_marriage", "religious")
  )
)

out <- list(
  r_version = as.character(getRversion()),
  packages = list(car = as.character(packageVersion("car")),
                  survival = as.character(packageVersion("survival")),
                  MASS = as.character(packageVersion("MASS"))),
  pbc = pbc_ref, birthwt = bw_ref, fair = fair_ref
)
write_json(out, "tests/reference/example_studies.json", auto_unbox = TRUE,
           digits = NA, pretty = TRUE)
cat("wrote tests/reference/example_studies.json\n")
