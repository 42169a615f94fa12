# Reference values for tests/stats/test_model_reference.py. Run from this folder:
#   sh install_logistf.sh <logistf source> <rlib>      (once)
#   R_LIBS=<rlib> Rscript logistf_reference.R
# writes logistf_reference.csv (case, quantity, term, value) and infert.csv.
#
# Firth: logistf itself (1.26.1), on its own example data (sex2, shipped with
# logistf) and on R's infert data with a three-level factor. logistf's default
# tolerances (1e-5) leave the estimates ~1e-6 from the optimum, so the values
# compared to 1e-6 come from the same calls with tolerances of 1e-12; the
# default-control values are stored too ("default_*").
#
# Tests of a predictor as a whole, by maximum likelihood (SPSS's Wald on a
# categorical variable's own row, and the likelihood-ratio test of dropping it):
# stats::glm with car::Anova(type = 3, test.statistic = "Wald"), stats::drop1(test
# = "LRT"), and the Wald chi-square by hand, t(b) %*% solve(V) %*% b.
suppressPackageStartupMessages({
  library(logistf)
  library(car)
})
options(digits = 15)
out <- data.frame(case = character(), quantity = character(), term = character(),
                  value = character())
put <- function(case, quantity, values, terms = names(values)) {
  if (is.null(terms)) terms <- rep("", length(values))
  out <<- rbind(out, data.frame(case = case, quantity = quantity, term = terms,
                                value = sprintf("%.15g", as.numeric(values))))
}
for (pkg in c("logistf", "car"))
  out <- rbind(out, data.frame(case = "meta", quantity = "version", term = pkg,
                               value = as.character(packageVersion(pkg))))
out <- rbind(out, data.frame(case = "meta", quantity = "version", term = "R",
                             value = R.version.string))
out <- rbind(out, data.frame(case = "meta", quantity = "source", term = "logistf",
                             value = "github.com/georgheinze/logistf commit f9f3641"))

tight <- logistf.control(maxit = 200, lconv = 1e-12, gconv = 1e-12, xconv = 1e-12)
tight_pl <- logistpl.control(maxit = 1000, lconv = 1e-12, xconv = 1e-12)
xwx_se <- function(fit) {
  # the inverse Fisher information at the penalised estimates, (X'WX)^-1
  x <- model.matrix(fit$formula, model.frame(fit))
  p <- plogis(drop(x %*% coef(fit)))
  sqrt(diag(solve(crossprod(x, x * (p * (1 - p))))))
}
firth_report <- function(case, fit, default) {
  put(case, "coef", coef(fit))
  put(case, "se_logistf", sqrt(diag(vcov(fit))))     # what summary() prints as se(coef)
  put(case, "se_xwx", xwx_se(fit))
  put(case, "ci_lower", fit$ci.lower)                # profile penalised likelihood, B scale
  put(case, "ci_upper", fit$ci.upper)
  put(case, "plr_p", fit$prob)                       # penalised likelihood ratio, 1 df
  put(case, "plr_chisq", qchisq(1 - fit$prob, 1))
  put(case, "loglik", fit$loglik)                    # full, null (penalised)
  put(case, "default_coef", coef(default))
  put(case, "default_se_logistf", sqrt(diag(vcov(default))))
  put(case, "default_ci_lower", default$ci.lower)
  put(case, "default_ci_upper", default$ci.upper)
  put(case, "default_plr_p", default$prob)
}

# ------------------------------------------------------------- sex2 -----
data(sex2)
local_sex2 <- read.csv("sex2.csv")
stopifnot(isTRUE(all.equal(as.data.frame(lapply(sex2, as.numeric)),
                           local_sex2[names(sex2)], check.attributes = FALSE)))
f_sex2 <- case ~ age + oc + vic + vicl + vis + dia
firth_report("sex2",
             logistf(f_sex2, data = sex2, control = tight, plcontrol = tight_pl),
             logistf(f_sex2, data = sex2))
# joint penalised likelihood-ratio test of vic and vicl (columns 4, 5)
fit <- logistf(f_sex2, data = sex2, control = tight, plcontrol = tight_pl)
t45 <- logistftest(fit, test = c(4, 5))
put("sex2", "joint_vic_vicl", c(2 * diff(rev(t45$loglik)), t45$df, t45$prob),
    c("chisq", "df", "p"))

# ----------------------------------------------------------- infert -----
# R's datasets::infert; education 0-5yrs / 6-11yrs / 12+ yrs written as 1 / 2 / 3.
inf <- data.frame(case = infert$case, education = as.integer(infert$education),
                  age = infert$age, spontaneous = infert$spontaneous,
                  induced = infert$induced)
# five missing spontaneous values, so that a test refitted on more rows would show
inf$spontaneous[c(5, 17, 40, 77, 120)] <- NA
write.csv(inf, "infert.csv", row.names = FALSE, na = "")
inf$education <- factor(inf$education)
cc <- inf[complete.cases(inf), ]                       # 243 rows

f_inf <- case ~ age + education + spontaneous + induced
fit_inf <- logistf(f_inf, data = cc, control = tight, plcontrol = tight_pl)
firth_report("infert_firth", fit_inf, logistf(f_inf, data = cc))
# columns: (Intercept), age, education2, education3, spontaneous, induced
stopifnot(identical(names(coef(fit_inf))[3:4], c("education2", "education3")))
t_edu <- logistftest(fit_inf, test = c(3, 4))
put("infert_firth", "joint_education", c(2 * diff(rev(t_edu$loglik)), t_edu$df, t_edu$prob),
    c("chisq", "df", "p"))
cc3 <- transform(cc, education = relevel(education, ref = "3"))
fit_inf3 <- logistf(f_inf, data = cc3, control = tight, plcontrol = tight_pl)
firth_report("infert_firth_ref3", fit_inf3, logistf(f_inf, data = cc3))

ml_report <- function(case, data) {
  fit <- glm(f_inf, family = binomial, data = data,
             control = glm.control(epsilon = 1e-14, maxit = 100))
  co <- summary(fit)$coefficients
  put(case, "n", length(fit$y))
  put(case, "coef", co[, 1])
  put(case, "se", co[, 2])
  put(case, "p", co[, 4])
  a <- Anova(fit, type = 3, test.statistic = "Wald")
  put(case, "anova3_wald_chisq", setNames(a[, "Chisq"], rownames(a)))
  put(case, "anova3_wald_df", setNames(a[, "Df"], rownames(a)))
  put(case, "anova3_wald_p", setNames(a[, "Pr(>Chisq)"], rownames(a)))
  d <- drop1(fit, test = "LRT")[-1, ]
  put(case, "drop1_lrt", setNames(d[, "LRT"], rownames(d)))
  put(case, "drop1_p", setNames(d[, "Pr(>Chi)"], rownames(d)))
  idx <- grep("^education", names(coef(fit)))
  b <- coef(fit)[idx]
  put(case, "hand_wald_education", drop(t(b) %*% solve(vcov(fit)[idx, idx]) %*% b))
  # crude: education alone, on every row with case and education (as the crude fits)
  crude <- glm(case ~ education, family = binomial, data = data,
               control = glm.control(epsilon = 1e-14, maxit = 100))
  a <- Anova(crude, type = 3, test.statistic = "Wald")
  put(case, "crude_wald_education", a["education", "Chisq"])
  put(case, "crude_lrt_education", crude$null.deviance - crude$deviance)
}
ml_report("infert_ml", inf)                                  # glm drops the 5 rows itself
ml_report("infert_ml_ref3", transform(inf, education = relevel(education, ref = "3")))

# ----------------------------------------- one column, several roles -----
ctl <- glm.control(epsilon = 1e-14, maxit = 100)
coefs <- function(case, fit) {
  put(case, "n", length(fit$y))
  put(case, "coef", coef(fit))
  put(case, "se", sqrt(diag(vcov(fit))))
}
# education's codes 1, 2, 3 entered as numbers (a trend)
inf_num <- transform(inf, education = as.numeric(as.character(education)))
coefs("roles_trend", glm(f_inf, family = binomial, data = inf_num, control = ctl))
# case as a predictor: spontaneous abortion (one or more) on case and age,
# case with reference 1 (so the OR is for case = 0 vs 1)
inf_sp <- transform(inf, spont_any = as.integer(spontaneous >= 1),
                    case_ref1 = factor(case, levels = c(1, 0)))
coefs("roles_case_predictor", glm(spont_any ~ case_ref1 + age, family = binomial,
                                  data = inf_sp, control = ctl))
# age by category: [.., 30), [30, 35), [35, ..) with the last as reference
inf_ag <- transform(inf, age_group = relevel(cut(age, c(-Inf, 30, 35, Inf), right = FALSE,
                                                 labels = 1:3), ref = "3"))
coefs("roles_age_group", glm(case ~ age_group + spontaneous, family = binomial,
                             data = inf_ag, control = ctl))
# a where that keeps education 2 and 3 only: education enters with two codes
sub <- droplevels(subset(inf, education != "1"))
coefs("roles_where", glm(case ~ education + age, family = binomial, data = sub,
                         control = ctl))

write.csv(out, "logistf_reference.csv", row.names = FALSE, quote = TRUE)
