# Writes pbc.csv from R's survival::pbc (Mayo Clinic primary biliary cholangitis
# trial, 1974-1984; Fleming & Harrington 1991, appendix D). Run once from this folder:
#   Rscript convert.R
# Missing values are written as empty cells.
library(survival)
data(pbc, package = "survival")
write.csv(pbc, "pbc.csv", row.names = FALSE, na = "")
cat(sprintf("pbc.csv: %d rows (R %s, survival %s)\n", nrow(pbc),
            getRversion(), packageVersion("survival")))
