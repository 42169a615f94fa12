# Reference values for tests/stats/test_stats_spss_output.py: the statistics SPSS 20
# prints beside each test, computed by R's own implementations. Run from this folder:
#   Rscript spss_output_reference.R > spss_output_reference.out
# R 4.2.2 with Debian r-cran-e1071 and r-cran-car; MASS as shipped with R.
suppressPackageStartupMessages({
  library(e1071)
  library(car)
  library(MASS)
})
options(digits = 15)
show <- function(label, x) cat(sprintf("%-52s %s\n", label, paste(sprintf("%.15g", x), collapse = " ")))
cat(R.version.string, "\n")

d <- read.csv("groups.csv")
a0 <- na.omit(d$value[d$group == "a"]); b0 <- na.omit(d$value[d$group == "b"])

cat("## skewness and kurtosis (e1071 type = 2: SPSS's G1 and G2)\n")
show("b: skewness, kurtosis", c(skewness(b0, type = 2), kurtosis(b0, type = 2)))
show("a: skewness, kurtosis", c(skewness(a0, type = 2), kurtosis(a0, type = 2)))
show("b: se of mean, 95% CI of mean", c(sd(b0) / sqrt(length(b0)), t.test(b0)$conf.int))

cat("## one-way ANOVA table (PSPP oneway.at data: quality by brand)\n")
quality <- c(7, 4, 3, 2, 1, 4, 2, 3, 5, 1, 4, 5, 2, 3, 6)
brand <- factor(c(3, 3, 1, 1, 1, 2, 2, 2, 3, 1, 1, 2, 2, 3, 3))
av <- anova(lm(quality ~ brand))
show("SS between, within", av$`Sum Sq`)
show("MS between, within", av$`Mean Sq`)
show("F, p", c(av$`F value`[1], av$`Pr(>F)`[1]))
lq <- leveneTest(quality ~ brand, center = mean)
show("leveneTest(center = mean) F, p", c(lq$`F value`[1], lq$`Pr(>F)`[1]))
show("Welch t of a vs b (var.equal = FALSE): t, df, p",
     with(t.test(a0, b0), c(statistic, parameter, p.value)))

cat("## Mann-Whitney (PSPP npar.at data: height by sex)\n")
height <- c(201, 84, 83, 94, 88, 99, 55, 69, 86, 79, 91, 201, 88, 85, 82, 88, 75, 99, 81, 72,
            89, 92, 80, 82, 76, 65, 85, 76, 145, 24)
sex <- c(1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 1, 1, 1)
r <- rank(height)
show("rank sums sex 0, 1", c(sum(r[sex == 0]), sum(r[sex == 1])))
mw <- wilcox.test(height[sex == 0], height[sex == 1], exact = FALSE, correct = FALSE)
show("wilcox.test W (U of sex 0), p", c(mw$statistic, mw$p.value))

cat("## Kruskal-Wallis (PSPP npar.at data: xscore by gv)\n")
xscore <- c(96, 128, 83, 132, 135, 109, 115, 61, 101, 82, 124, 149, 166, 147)
gv <- c(1, 1, 1, 2, 2, 2, 3, 1, 1, 2, 2, 3, 3, 3)
kw <- kruskal.test(xscore, factor(gv))
show("kruskal.test H, df, p", c(kw$statistic, kw$parameter, kw$p.value))
show("mean ranks gv 1, 2, 3", tapply(rank(xscore), gv, mean))

cat("## one-sample K-S against N(mean, sd) (PSPP npar.at data)\n")
k <- read.csv("pspp_ks_normal.csv")
for (v in c("foo", "bar")) {
  x <- na.omit(k[[v]])
  two <- suppressWarnings(ks.test(x, "pnorm", mean(x), sd(x), exact = FALSE))
  gt <- suppressWarnings(ks.test(x, "pnorm", mean(x), sd(x), alternative = "greater", exact = FALSE))
  lt <- suppressWarnings(ks.test(x, "pnorm", mean(x), sd(x), alternative = "less", exact = FALSE))
  show(sprintf("%s: D, D+ (greater), D- (less), p", v), c(two$statistic, gt$statistic, lt$statistic, two$p.value))
}

cat("## crosstabs\n")
risk <- matrix(c(20, 15, 80, 135), 2)   # rows Placebo, Aspirin; columns Yes, No
show("risk: fisher p two-sided, less, greater", c(fisher.test(risk)$p.value,
     fisher.test(risk, alternative = "less")$p.value, fisher.test(risk, alternative = "greater")$p.value))
lr <- loglm(~ 1 + 2, data = as.table(risk))
show("risk: loglm likelihood-ratio G2, Pearson X2", c(lr$lrt, lr$pearson))
show("risk: chisq.test expected", chisq.test(risk, correct = FALSE)$expected)
school <- matrix(c(77, 14, 91, 18), 2)  # rows public, private; columns male, female
show("school: fisher p two-sided, less, greater", c(fisher.test(school)$p.value,
     fisher.test(school, alternative = "less")$p.value, fisher.test(school, alternative = "greater")$p.value))
ses <- matrix(c(15, 32, 47, 48, 29, 29), 2)   # rows female 0, 1; columns ses 1, 2, 3
lr3 <- loglm(~ 1 + 2, data = as.table(ses))
show("female x ses: loglm G2, df", c(lr3$lrt, lr3$df))
cells <- expand.grid(female = 0:1, ses = 1:3)
w <- as.vector(ses)
fx <- rep(cells$female, w); sx <- rep(cells$ses, w)
show("female x ses: (N - 1) cor^2 (linear-by-linear)", (length(fx) - 1) * cor(fx, sx)^2)
