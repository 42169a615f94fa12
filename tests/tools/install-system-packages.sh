#!/usr/bin/env bash
# System tools for the `tools` tests (tests/tools/): headless Chromium (report.html,
# print to PDF), LibreOffice (DOCX/XLSX -> PDF), poppler's pdftotext, pdflatex for
# the LaTeX tables (tests/render/test_latex.py), and Slurm with munge for a single-node
# cluster (tests/tools/test_slurm.py starts and stops its own daemons).
# Idempotent: installs (Debian/Ubuntu, as root, --no-install-recommends) only what is
# missing; otherwise says why it skipped, and the tests skip with a reason.
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if ! command -v soffice >/dev/null 2>&1; then
	need+=(libreoffice-writer-nogui libreoffice-calc-nogui)
fi
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
# pdflatex and the packages reports/tables.tex uses (booktabs, threeparttablex, pdflscape)
if ! command -v pdflatex >/dev/null 2>&1 || ! kpsewhich threeparttablex.sty >/dev/null 2>&1; then
	need+=(texlive-latex-base texlive-latex-recommended texlive-latex-extra)
fi
if ! kpsewhich lmodern.sty >/dev/null 2>&1; then
	need+=(lmodern)
fi
# A font to print with: a minimal system may have none (then no text reaches a PDF).
if ! command -v fc-list >/dev/null 2>&1 || [ -z "$(fc-list :lang=en 2>/dev/null | head -n 1)" ]; then
	need+=(fonts-dejavu-core)
fi
# Slurm: the daemons (in sbin, which a user's PATH may lack) and the client commands.
have_sbin() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
have_sbin munged || need+=(munge)
have_sbin slurmctld || need+=(slurmctld)
have_sbin slurmd || need+=(slurmd)
if ! command -v sbatch >/dev/null 2>&1 || ! command -v squeue >/dev/null 2>&1; then
	need+=(slurm-client)
fi

if [ ${#need[@]} -eq 0 ]; then
	echo "system packages: chromium, soffice, pdftotext, pdflatex, a font and slurm present"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "system packages: not root, not installing ${need[*]} (the tools tests that need them skip)"
	exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "system packages: no apt-get, not installing ${need[*]} (the tools tests that need them skip)"
	exit 0
fi
echo "system packages: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "system packages: installed ${need[*]}"
