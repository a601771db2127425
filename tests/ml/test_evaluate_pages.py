"""Page mode's figures: pages exact, lines exact in their place, the table's rows."""
import pytest

from ml import evalsets
from ml.evaluate_pages import PageOutcome, evaluate_pages, page_figures
from ml.report import evaluation_table


def test_a_split_or_lost_line_is_wrong_and_its_neighbours_stay_right():
    split = PageOutcome(["12", "345", "6"], ["12", "3", "45", "6"], 0.5)
    lost = PageOutcome(["12", "345", "6"], ["12", "6"], 0.5)
    right = PageOutcome(["7", "89"], ["7", "89"], 0.9)
    assert (split.lines_right, lost.lines_right, right.lines_right) == (2, 2, 2)
    figures = page_figures([split, lost, right])
    assert figures["accuracy"] == pytest.approx(1 / 3)
    assert figures["lines"] == {"count": 8, "accuracy": 6 / 8}
    assert figures["line_count_right"] == pytest.approx(1 / 3)


def test_it_measures_generated_pages_through_the_engine(engine, mnist, tmp_path):
    folder = evalsets.ensure_pages(mnist.x_test, mnist.y_test, tmp_path, evalsets.TUNE, count=4)
    report = {"sets": {"pages": evaluate_pages(engine, folder)}}
    pages = report["sets"]["pages"]
    assert pages["count"] == 4 and pages["lines"]["count"] >= 8
    assert 0 <= pages["accuracy"] <= 1 and 0 <= pages["lines"]["accuracy"] <= 1 and pages["line_count_right"] == 1
    rows = "\n".join(evaluation_table(report))
    assert "Pages of 2-5 lines, every line exact" in rows and "Lines of the pages, exact" in rows
