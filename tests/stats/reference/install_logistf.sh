#!/bin/sh
# Build logistf from its source (github.com/georgheinze/logistf, commit f9f3641,
# version 1.26.1) into a private R library, for logistf_reference.R.
#
# Debian bookworm packages R 4.2.2, car, mice and mgcv but not logistf, and CRAN
# is out of reach here. logistf imports formula.tools only for lhs.vars() and
# rhs.vars(), used by flic/flac, never by logistf() or logistftest(); formula.tools
# is not packaged either, so a two-function stand-in is installed first.
#
#   apt-get install -y r-base-core r-base-dev r-cran-mice r-cran-mgcv r-cran-matrix r-cran-car
#   sh install_logistf.sh /path/to/logistf-source /path/to/rlib
#   R_LIBS=/path/to/rlib Rscript logistf_reference.R
set -eu
SRC=$1
LIB=$2
mkdir -p "$LIB"
SHIM=$(mktemp -d)/formula.tools
mkdir -p "$SHIM/R"
cat > "$SHIM/DESCRIPTION" <<'DESC'
Package: formula.tools
Version: 0.0.0
Title: Stand-in for lhs.vars and rhs.vars
Description: The two functions logistf imports; not the CRAN package.
License: GPL
Author: none
Maintainer: none <none@example.org>
DESC
cat > "$SHIM/NAMESPACE" <<'NS'
export(lhs.vars, rhs.vars)
NS
cat > "$SHIM/R/vars.R" <<'RFUN'
lhs.vars <- function(x, ...) all.vars(x[[2]])
rhs.vars <- function(x, ...) all.vars(x[[length(x)]])
RFUN
R CMD INSTALL --library="$LIB" "$SHIM"
R CMD INSTALL --library="$LIB" "$SRC"
