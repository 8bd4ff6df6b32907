"""The cell card as a browser test reads it: its text through Panel's shadow roots, the wait for it to be
complete, and its numbers section by section beside a reference card computed in this process."""
from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from browser_fixtures import PAGE_TIMEOUT_MS, screenshot
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from rnnscope.app.pages.page import Page
from rnnscope.app.pages.state import AppState

TITLES = ["Explain at the clicked step", "Saturation point", "Label and runners-up", "Mean per category",
          "Probe weight and rank", "Its line over the shown sequence", "Coloured text", "Strongest recurrent weights",
          "Ablation cost", "Causal codes", "In the automaton", "In the dynamics"]
# The sections whose numbers are held-out statistics or weights: the same whatever the page shows. (The line,
# the coloured text and the explain breakdown are about the shown sequence and the clicked step.)
HELD_OUT = ["Saturation point", "Label and runners-up", "Mean per category", "Probe weight and rank",
            "Strongest recurrent weights", "Ablation cost", "Causal codes", "In the automaton", "In the dynamics"]
# The text of the open tab's card, through the shadow roots Panel draws in.
CARD_TEXT = """() => {
  let out = "";
  const walk = root => root.querySelectorAll("*").forEach(el => {
    if (!el.shadowRoot) return;
    if (el.classList.contains("markdown") && el.offsetParent !== null)
      for (const c of el.shadowRoot.children) if (c.tagName === "DIV") out += c.innerText + "\\n";
    walk(el.shadowRoot);
  });
  walk(document);
  return out;
}"""
NUMBER = re.compile(r"[-\u2212+]?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?")


def card_text(page) -> str:
    return page.evaluate(CARD_TEXT)


def wait_for_card(page, cell: int | None = None) -> str:
    """The card's text once its heading names ``cell`` (any cell: None) and no section is computing any more."""
    name = r"\d+" if cell is None else str(cell)
    try:
        page.wait_for_function(f"""() => {{ const t = ({CARD_TEXT})();
            return /Cell {name}, layer 0/.test(t) && t.includes("In the dynamics")
                && !t.includes("computing \u2026"); }}""",
                               timeout=PAGE_TIMEOUT_MS * 3)
    except PlaywrightTimeout:      # say what the page showed instead: no card, another cell's, or a section stuck
        shown = card_text(page)
        stuck = [title for title, text in sections(shown).items() if "computing \u2026" in text]
        screenshot(page, f"card-not-complete-cell-{cell}", full_page=True)
        pytest.fail(f"the card of cell {cell} was not complete after {PAGE_TIMEOUT_MS * 3 // 1000} s; sections "
                    f"still computing: {stuck}; the card's text (the active tab's, empty if not shown):\n"
                    f"{shown[:3000]}", pytrace=False)
    return card_text(page)


def shown_cell(text: str) -> tuple[int, str]:
    """The cell and the view the card's heading names."""
    cell = int(re.search(r"Cell (\d+), layer 0", text).group(1))
    return cell, re.search(r"Shown view\s+(\w+)", text).group(1)


def numbers(text: str) -> list[str]:
    """Every number of ``text`` as written, the minus sign and thousands commas made plain."""
    return [n.replace("\u2212", "-").replace(",", "").lstrip("+") for n in NUMBER.findall(text)]


def sections(text: str) -> dict[str, str]:
    """The card's text (as the browser shows it) cut at its section titles: {title: what follows it}."""
    at = sorted((text.index(title), title) for title in TITLES if title in text)
    return {title: text[start + len(title):(at[i + 1][0] if i + 1 < len(at) else len(text))]
            for i, (start, title) in enumerate(at)}


class ReferenceCard:
    """The page in this process on the served checkpoint: its card, computed in plain Python (every section at
    once) from the same functions the served page uses, is the reference; tests/test_app_cell_card.py holds
    those numbers to `rnnscope probe --json`'s. Its results go to a folder of its own (app/pages/stored.py
    reads XDG_CACHE_HOME), set only while it computes, so nothing is read back from the server's."""

    def __init__(self, model: Path, folder: Path):
        self.model, self.folder, self._page = model, folder, None

    def sections(self, cell: int, view: str) -> dict[str, str]:
        """{title: text as the browser shows it} of the card of ``cell`` of ``view``."""
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("XDG_CACHE_HOME", str(self.folder))
            if self._page is None:
                self._page = Page(AppState(str(self.model)))
            if self._page.state.view != view:
                self._page.state.view = view
            self._page.card.show(cell)
            md = self._page.card.markdown()
        text = html.unescape(re.sub(r"<[^>]+>", "", md))      # as the browser shows it: no tags, entities read
        return {title: part.split("\n", 1)[1] if "\n" in part else "" for part in text.split("#### ")[1:]
                for title in [part.split("\n", 1)[0].strip()] if title in TITLES}


def check_against_reference(text: str, reference: ReferenceCard) -> int:
    """The shown card's held-out sections carry the reference card's numbers, in order; returns the cell."""
    cell, view = shown_cell(text)
    shown, want = sections(text), reference.sections(cell, view)
    for title in HELD_OUT:
        assert title in shown and title in want, f"cell {cell}: no section {title!r}"
        assert numbers(shown[title]) == numbers(want[title]), (
            f"cell {cell} ({view}), {title}: shown {numbers(shown[title])} but computed {numbers(want[title])}")
    return cell


@pytest.fixture(scope="session")
def reference_card(browser_model, tmp_path_factory) -> ReferenceCard:
    """One for the session (tests/conftest.py): its sections are computed once per model."""
    return ReferenceCard(browser_model, tmp_path_factory.mktemp("card-reference"))
