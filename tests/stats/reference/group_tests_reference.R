# Reference values for tests/stats/test_descriptive.py, test_normality.py,
# test_group_tests.py and test_contingency.py. Run from this folder:
#   Rscript group_tests_reference.R > group_tests_reference.out
# R 4.2.2 with Debian r-cran-nortest 1.0-4 and r-cran-car 3.1-1.
suppressPackageStartupMessages({
  library(nortest)
  library(car)
})
options(digits = 15)
show <- function(label, x) cat(sprintf("%-44s %s\n", label, paste(sprintf("%.15g", x), collapse = " ")))

d <- read.csv("groups.csv")
a <- d$value[d$group == "a"]
b <- d$value[d$group == "b"]
c <- d$value[d$group == "c"]
a0 <- a[!is.na(a)]; b0 <- b[!is.na(b)]; c0 <- c[!is.na(c)]

cat("## descriptives of group b (NAs dropped)\n")
show("n, mean, sd", c(length(b0), mean(b0), sd(b0)))
show("median, min, max", c(median(b0), min(b0), max(b0)))
show("quantile type=6 25/75", quantile(b0, c(.25, .75), type = 6))
show("quantile type=6 25/75 of group a", quantile(a0, c(.25, .75), type = 6))
for (k in c(1, 2, 3, 5)) show(sprintf("type=6 25/50/75 of a0[1:%d]", k), quantile(a0[1:k], c(.25, .5, .75), type = 6))

cat("## normality\n")
lb <- lillie.test(b0); show("lillie.test(b) D, p", c(lb$statistic, lb$p.value))
la <- lillie.test(a0); show("lillie.test(a) D, p", c(la$statistic, la$p.value))
lc <- lillie.test(c0); show("lillie.test(c) D, p", c(lc$statistic, lc$p.value))
s150 <- read.csv("skewed150.csv")$value
ls <- lillie.test(s150); show("lillie.test(skewed150) D, p", c(ls$statistic, ls$p.value))
kb <- suppressWarnings(ks.test(b0, "pnorm", mean(b0), sd(b0), exact = FALSE))  # warns: ties
show("ks.test(b, pnorm, mean, sd, exact=F) D, p", c(kb$statistic, kb$p.value))
ka <- suppressWarnings(ks.test(a0, "pnorm", mean(a0), sd(a0), exact = FALSE))
show("ks.test(a, ...) D, p", c(ka$statistic, ka$p.value))
sb <- shapiro.test(b0); show("shapiro.test(b) W, p", c(sb$statistic, sb$p.value))
sa <- shapiro.test(a0); show("shapiro.test(a) W, p", c(sa$statistic, sa$p.value))

cat("## t tests a vs b\n")
st <- t.test(a0, b0, var.equal = TRUE)
show("t.test var.equal=T t, df, p", c(st$statistic, st$parameter, st$p.value))
show("  conf.int, mean diff", c(st$conf.int, st$estimate[1] - st$estimate[2]))
wt <- t.test(a0, b0, var.equal = FALSE)
show("t.test var.equal=F t, df, p", c(wt$statistic, wt$parameter, wt$p.value))
show("  conf.int", wt$conf.int)
ab <- data.frame(v = c(a0, b0), g = factor(rep(c("a", "b"), c(length(a0), length(b0)))))
lt <- leveneTest(v ~ g, data = ab, center = mean)
show("car::leveneTest(center=mean) a,b F, p", c(lt$`F value`[1], lt$`Pr(>F)`[1]))
ab$dev <- abs(ab$v - ave(ab$v, ab$g))
ha <- anova(lm(dev ~ g, data = ab))
show("hand: anova(lm(|x-mean| ~ g)) F, p", c(ha$`F value`[1], ha$`Pr(>F)`[1]))

cat("## three groups\n")
abc <- data.frame(v = c(a0, b0, c0), g = factor(rep(c("a", "b", "c"), c(length(a0), length(b0), length(c0)))))
o1 <- oneway.test(v ~ g, data = abc, var.equal = TRUE)
show("oneway.test var.equal=T F, df1, df2, p", c(o1$statistic, o1$parameter, o1$p.value))
o2 <- oneway.test(v ~ g, data = abc, var.equal = FALSE)
show("oneway.test var.equal=F F, df1, df2, p", c(o2$statistic, o2$parameter, o2$p.value))
l3 <- leveneTest(v ~ g, data = abc, center = mean)
show("car::leveneTest(center=mean) a,b,c F, p", c(l3$`F value`[1], l3$`Pr(>F)`[1]))
kw <- kruskal.test(v ~ g, data = abc)
show("kruskal.test H, df, p", c(kw$statistic, kw$parameter, kw$p.value))

cat("## Mann-Whitney a vs b (ties present)\n")
mw <- wilcox.test(a0, b0, exact = FALSE, correct = FALSE)
show("wilcox.test(exact=F, correct=F) W, p", c(mw$statistic, mw$p.value))
# Z by hand: tie-corrected variance, no continuity correction
r <- rank(c(a0, b0)); n1 <- length(a0); n2 <- length(b0); N <- n1 + n2
U <- sum(r[1:n1]) - n1 * (n1 + 1) / 2
tt <- table(c(a0, b0))
sig <- sqrt(n1 * n2 / 12 * ((N + 1) - sum(tt^3 - tt) / (N * (N - 1))))
show("hand: U, z", c(U, (U - n1 * n2 / 2) / sig))
x8 <- c(1.1, 2.3, 3.2, 4.8, 5.5, 6.1, 7.9, 8.4)
y10 <- c(3.0, 5.0, 6.6, 7.1, 8.8, 9.2, 9.9, 10.4, 11.7, 12.5)
me <- wilcox.test(x8, y10, exact = TRUE)
show("wilcox.test(x8, y10, exact=T) W, p", c(me$statistic, me$p.value))

cat("## contingency\n")
t22 <- matrix(c(12, 7, 5, 15), 2)        # rows: [12 5], [7 15]
p0 <- chisq.test(t22, correct = FALSE)
show("chisq.test(t22, correct=F) X2, df, p", c(p0$statistic, p0$parameter, p0$p.value))
show("  min expected", min(p0$expected))
p1 <- chisq.test(t22, correct = TRUE)
show("chisq.test(t22, correct=T) X2, df, p", c(p1$statistic, p1$parameter, p1$p.value))
f22 <- fisher.test(t22)
show("fisher.test(t22) p, OR(cond MLE), CI", c(f22$p.value, f22$estimate, f22$conf.int))
t33 <- matrix(c(8, 3, 1, 4, 6, 2, 2, 3, 7), 3, byrow = TRUE)
p3 <- suppressWarnings(chisq.test(t33, correct = FALSE))
show("chisq.test(t33) X2, df, p", c(p3$statistic, p3$parameter, p3$p.value))
show("  min expected, #cells<5", c(min(p3$expected), sum(p3$expected < 5)))
f33 <- fisher.test(t33)
show("fisher.test(t33) exact p", f33$p.value)
t24 <- matrix(c(3, 0, 9, 1, 2, 0, 12, 4), 2, byrow = TRUE)   # column 2 all zero
t23 <- t24[, -2]
p23 <- suppressWarnings(chisq.test(t23, correct = FALSE))
show("chisq.test(t24 without empty col) X2, df, p", suppressWarnings(c(p23$statistic, p23$parameter, p23$p.value)))
f23 <- fisher.test(t23)
show("fisher.test(t24 without empty col) exact p", f23$p.value)

cat("## fisher.test(t22) internals with a tight uniroot tolerance\n")
# fisher.test finds the conditional MLE and CI with uniroot's default tol
# (~1.2e-4), which moves the CI in the 4th digit. Same code, tol = 1e-15:
x <- t22
m <- sum(x[, 1L]); n <- sum(x[, 2L]); k <- sum(x[1L, ]); x11 <- x[1L, 1L]
support <- max(0L, k - n):min(k, m)
logdc <- dhyper(support, m, n, k, log = TRUE)
dnhyper <- function(ncp) { d <- logdc + log(ncp) * support; d <- exp(d - max(d)); d / sum(d) }
mnhyper <- function(ncp) sum(support * dnhyper(ncp))
pnhyper <- function(q, ncp, upper.tail = FALSE) {
  if (ncp == 1) return(if (upper.tail) phyper(q - 1, m, n, k, lower.tail = FALSE) else phyper(q, m, n, k))
  if (upper.tail) sum(dnhyper(ncp)[support >= q]) else sum(dnhyper(ncp)[support <= q])
}
tol <- 1e-15
ncp_U <- function(x, alpha) {
  if (pnhyper(x, 1) < alpha) uniroot(function(t) pnhyper(x, t) - alpha, c(0, 1), tol = tol)$root
  else 1 / uniroot(function(t) pnhyper(x, 1 / t) - alpha, c(.Machine$double.eps, 1), tol = tol)$root
}
ncp_L <- function(x, alpha) {
  if (pnhyper(x, 1, TRUE) > alpha) uniroot(function(t) pnhyper(x, t, TRUE) - alpha, c(0, 1), tol = tol)$root
  else 1 / uniroot(function(t) pnhyper(x, 1 / t, TRUE) - alpha, c(.Machine$double.eps, 1), tol = tol)$root
}
mle <- if (mnhyper(1) > x11) uniroot(function(t) mnhyper(t) - x11, c(0, 1), tol = tol)$root else
  1 / uniroot(function(t) mnhyper(1 / t) - x11, c(.Machine$double.eps, 1), tol = tol)$root
show("tight: conditional MLE OR, CI", c(mle, ncp_L(x11, 0.025), ncp_U(x11, 0.025)))
