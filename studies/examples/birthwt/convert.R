# Writes birthwt.csv from R's MASS::birthwt (Baystate Medical Center, Springfield MA,
# 1986; Hosmer & Lemeshow, Applied Logistic Regression). Run once from this folder:
#   Rscript convert.R
library(MASS)
data(birthwt, package = "MASS")
out <- cbind(id = seq_len(nrow(birthwt)), birthwt)
write.csv(out, "birthwt.csv", row.names = FALSE, na = "")
cat(sprintf("birthwt.csv: %d rows (R %s, MASS %s)\n", nrow(out),
            getRversion(), packageVersion("MASS")))
