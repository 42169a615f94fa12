"""The meta-analysis forest plot: written, byte-identical twice, withheld sites said so."""

from __future__ import annotations

import math

import pytest

from analysis.figures.meta_forest import draw_meta_forest, meta_forest

SITES = [
    {"site": "site_a", "or": 2.1, "ci_low": 1.2, "ci_high": 3.7, "weight_random_pct": 41.2},
    {"site": "site_b", "or": 1.4, "ci_low": 0.6, "ci_high": 3.3, "weight_random_pct": 18.8},
    {"site": "site_c", "or": 3.0, "ci_low": 1.7, "ci_high": 5.2, "weight_random_pct": 40.0},
]
FIXED = {"or": 2.2, "ci_low": 1.6, "ci_high": 3.1}
RANDOM = {
    "or": 2.1, "ci_low": 1.3, "ci_high": 3.4, "pi_low": 0.5, "pi_high": 8.8,
    "i2": 0.312, "tau2": 0.0456,
}  # fmt: skip


def texts(fig) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts] + [
        t.get_text() for ax in fig.axes for t in ax.get_yticklabels()
    ]


def test_files_are_written_and_byte_identical_twice(tmp_path):
    first = meta_forest("Albumin (per 1 g/dL)", SITES, FIXED, RANDOM, tmp_path / "one" / "alb")
    second = meta_forest("Albumin (per 1 g/dL)", SITES, FIXED, RANDOM, str(tmp_path / "two/alb"))
    assert [p.name for p in first] == ["alb.png", "alb.svg"]
    for a, b in zip(first, second, strict=True):
        assert a.stat().st_size > 1000
        assert a.read_bytes() == b.read_bytes(), a.name
    assert first[0].read_bytes().startswith(b"\x89PNG")
    svg = first[1].read_text(encoding="utf-8")
    assert "<dc:date>" not in svg and "Matplotlib v" not in svg  # no dates, no versions
    assert not list(tmp_path.rglob(".*.partial"))


def test_a_term_with_dots_keeps_its_name_and_formats_are_chosen(tmp_path):
    (pdf,) = meta_forest("Age", SITES, FIXED, RANDOM, tmp_path / "table4_age[T.2]", ("pdf",))
    assert pdf.name == "table4_age[T.2].pdf"
    with pytest.raises(ValueError, match="formats"):
        meta_forest("Age", SITES, FIXED, RANDOM, tmp_path / "x", ("jpeg",))


def test_the_figure_shows_the_numbers(tmp_path):
    fig = draw_meta_forest("Albumin (per 1 g/dL)", SITES, FIXED, RANDOM)
    shown = texts(fig)
    for needed in (
        "site_a", "site_b", "site_c", "Fixed effect", "Random effects",
        "2.10 (1.20 to 3.70)", "41.2 %", "2.20 (1.60 to 3.10)", "0.50 to 8.80",
    ):  # fmt: skip
        assert needed in shown, needed
    subtitle = fig.axes[0].get_title(loc="left")
    assert "I² = 31.2 %" in subtitle and "τ² = 0.0456" in subtitle
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    low, high = ax.get_xlim()
    assert low < 0.5 and high > 8.8  # the prediction interval fits
    assert any(list(line.get_xdata()) == [1.0, 1.0] for line in ax.lines)  # OR = 1
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_a_withheld_site_is_said_so_not_drawn(tmp_path):
    sites = [dict(s) for s in SITES]
    sites[1] = {"site": "site_b", "or": None, "ci_low": None, "ci_high": None,
                "weight_random_pct": None}  # fmt: skip
    sites.append({"site": "site_d", "or": math.inf, "ci_low": 0.0, "ci_high": math.inf,
                  "weight_random_pct": 0.0})  # fmt: skip
    fig = draw_meta_forest("Albumin (per 1 g/dL)", sites, FIXED, {"or": 2.1, "ci_low": 1.3,
                                                                   "ci_high": 3.4})  # fmt: skip
    shown = texts(fig)
    assert shown.count("withheld") == 1 and " withheld " in shown
    assert "not estimable" in shown
    # squares only for the two sites with a finite OR (one marker line each)
    squares = [line for line in fig.axes[0].lines if line.get_marker() == "s"]
    assert len(squares) == 2
    assert "I²" not in fig.axes[0].get_title(loc="left")  # not given, not shown
    import matplotlib.pyplot as plt

    plt.close(fig)
    paths = meta_forest("Albumin", sites, FIXED, RANDOM, tmp_path / "withheld")
    again = meta_forest("Albumin", sites, FIXED, RANDOM, tmp_path / "again")
    assert [p.read_bytes() for p in paths] == [p.read_bytes() for p in again]
