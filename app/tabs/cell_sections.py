"""The cell card's sections in words and tables (Markdown, which the page draws and the export turns into
HTML): each number with its statistic and its sample size, from app/pages/cell_facts.py's dicts."""
from __future__ import annotations

from rnnscope.app.tabs.ablation_tab import samples_note

STAT = {"r": "Pearson r", "MI": "MI (bits)"}


def label_md(f: dict) -> str:
    """The label, the findings after it, and the mean per category."""
    lines = [f"**{f['label']}**", "",
             f"Ranked {f['rank']} of {f['cells']} cells by share explained; mean {f['mean']:+.3f}, std "
             f"{f['std']:.3f} over the first {f['chars']:,} held-out characters read in context.", "",
             "| | annotation | value | statistic | score | share explained |", "|---|---|---|---|---|---|"]
    for i, g in enumerate(f["findings"]):
        lines.append(f"| {'label' if i == 0 else f'runner-up {i}'} | {g['annotation']} | {g['value'] or 'all'} | "
                     f"{STAT[g['stat']]} | {g['score']:+.3f} | {g['explained']:.3f} |")
    return "\n".join(lines)


def profiles_md(f: dict) -> str:
    parts = []
    for name, rows in f["profiles"].items():
        cats = " | ".join(str(r["category"]).replace("|", "\\|") for r in rows)
        means = " | ".join("\u2013" if r["mean"] is None else f"{r['mean']:+.3f}" for r in rows)
        counts = " | ".join(f"{r['n']:,}" for r in rows)
        parts += [f"\n*{name.replace('_', ' ')}*", "", f"| | {cats} |", "|---" * (len(rows) + 1) + "|",
                  f"| mean | {means} |", f"| n chars | {counts} |", ""]
    return "\n".join(parts) + f"\nMeans over the first {f['chars']:,} held-out characters read in context."


def probes_md(rows: list[dict], cells: int) -> str:
    if not rows:
        return "No probe of this layer."
    lines = ["| target | probe accuracy | this cell's rank | its weight | in the cells for 99% |",
             "|---|---|---|---|---|"]
    for p in rows:
        weight = "\u2013 (one class)" if p["weight"] is None else f"{p['weight']:.3f}"
        lines.append(f"| {p['target']} | {p['accuracy']:.3f} | {p['rank']} of {p['of']} | {weight} | "
                     f"{'yes' if p['in_99'] else 'no'} ({p['cells_needed_99']} needed) |")
    n = rows[0]["test_chars"]
    lines += ["", "Logistic-regression probes of h (the Probes tab's, `rnnscope probe --json`'s): trained on the "
              f"first half of the held-out characters, accuracy on the other {n:,}. Weight: the largest |weight| over "
              f"classes on standardised states, which the rank sorts by; chance rank {(cells + 1) / 2:g}."]
    return "\n".join(lines)


def ablation_md(f: dict, cell: int, layer: int) -> str:
    lines = [f"| replaced by | loss (nats/char) | rise over intact {f['intact']:.4f} |", "|---|---|---|",
             f"| its held-out mean | {f['mean_loss']:.4f} | **{f['mean_delta']:+.4f}** |",
             f"| zero | {f['zero_loss']:.4f} | **{f['zero_delta']:+.4f}** |", "",
             f"Cell {cell} of layer {layer} alone replaced after every step, on the first {f['chars']:,} held-out "
             "characters (the mean rise is the Ablation tab's ranking and probe --json's `ablation_delta_loss`)."]
    return "\n".join(lines) + "\n\n" + samples_note(f["shares"])


def saturation_md(rows: list[dict]) -> str:
    if not rows:
        return "No bounded view in this layer: nothing to saturate."
    lines = ["| view | range | left-saturated | right-saturated |", "|---|---|---|---|"]
    for s in rows:
        lines.append(f"| {s['view']} | {s['range'][0]:g} .. {s['range'][1]:g} | {s['left']:.3f} | {s['right']:.3f} |")
    return "\n".join(lines + ["", f"Share of the first {rows[0]['chars']:,} held-out characters (read in context) at "
                              "which the view is within 0.1 of its bottom (left) or its top (right): the Saturation "
                              "tab's point."])


def causal_md(codes: list[dict], cell: int) -> str:
    if not codes:
        return "No causal code for this model's data."
    lines = []
    for c in codes:
        what = (f"**{c['annotation']}** against the grammar's oracle" if c["method"] == "oracle"
                else f"**{c['annotation']}** by interchange between contexts")
        if "absent" in c:
            lines.append(f"- {what}: not searched ({c['absent']}).")
            continue
        size = c["complete_size"]
        code = f"{size} cells" if size is not None else f"none within {len(c['cells'])} cells"
        if c["method"] == "oracle":
            measure = (f"mean KL(oracle \u2016 model) {c['before_it']:.3f} \u2192 {c['with_it']:.3f} nats with it "
                       f"added, over {c['positions']:,} contexts") if c["order"] else ""
        else:
            measure = (f"share of the KL gap closed {c['before_it']:.3f} \u2192 {c['with_it']:.3f} with it added, "
                       f"over {c['pairs']:,} pairs (null p99 at that size {c['null_p99'][c['order']]:.3f})"
                       if c["order"] else "")
        where = (f"added {c['order']}{_nth(c['order'])}, "
                 f"{'in' if c['member'] else 'outside'} the complete code ({code}): {measure}"
                 if c["order"] else f"not chosen (complete code: {code})")
        lines.append(f"- {what}: cell {cell} {where}.")
    return "\n".join(lines + ["", "Cells added greedily, each time the one that moves the prediction most "
                              "(docs/methods.md, Causal codes): probe --json's `causal_codes` and "
                              "`interchange_codes`."])


def weights_md(rows: list[dict], cell: int) -> str:
    def terms(xs):
        return ", ".join(f"cell {x['cell']} {x['weight']:+.2f}" for x in xs)
    lines = [f"| gate | drive cell {cell} most (weight into it) | cell {cell} drives most (weight from it) |",
             "|---|---|---|"]
    lines += [f"| {g['gate']} | {terms(g['from'])} | {terms(g['to'])} |" for g in rows]
    return "\n".join(lines + ["", "Largest |weight| in the recurrent matrix W_hh, per gate; a term is the weight times "
                              "the source cell's previous h (the Explain breakdown's recurrent terms)."])


def _nth(k: int) -> str:
    return "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")


def automaton_md(f: dict, cell: int) -> str:
    """The cell's mean in each automaton state, and how much of its variance the states account for."""
    lines = [f"eta\u00b2 = **{f['eta2']:.4f}** of cell {cell}'s {f['view']} variance lies between the extracted "
             f"automaton's states (shuffle null, 99th percentile: {f['null_99']:.4f}); ranked {f['rank']} of "
             f"{f['cells']} cells by it.", "",
             "| state | shortest string to it | mean | n chars |", "|---|---|---|---|"]
    lines += [f"| {r['name']} | `{r['access']!r}` | {r['mean']:+.3f} | {r['n']:,} |" for r in f["rows"]]
    return "\n".join(lines + [
        "", f"The L* automaton of the Automaton tab ({f['states']} states, each named by the grammar state its "
        f"shortest string reaches), run over the first {f['chars']:,} held-out characters from its start; each "
        "character's state paired with the cell's value after it, read in context. States the stream never visits "
        "are left out."])


def dynamics_md(f: dict, cell: int) -> str:
    """The cell's loadings on the projection, and its value and share of the slowest mode at each fixed point."""
    axes = ", ".join(f"PC{k + 1} {100 * e:.1f}%" for k, e in enumerate(f["explained"]))
    lines = [f"| entry | {' | '.join(f'PC{k + 1} loading' for k in range(len(f['explained'])))} | share of the plane "
             f"| rank of {f['of']} |", "|---" * (len(f["explained"]) + 3) + "|"]
    lines += [f"| {e['part']} {cell} | {' | '.join(f'{v:+.3f}' for v in e['loadings'])} | {e['share']:.3f} | "
              f"{e['rank']} |" for e in f["entries"]]
    lines += ["", f"The Dynamics tab's PCA of the layer's state, fitted on {f['fitted_on']:,} held-out states read in "
              f"context (variance on its axes: {axes}). Share of the plane: the squared loadings averaged over the "
              f"axes; an entry with an equal share would have {f['equal_share']:.3f}."]
    if f["points"] is None:
        return "\n".join(lines + ["", "Fixed points: not searched yet for this model (minutes for a text model): open "
                                  "the Dynamics tab, then this card again."])
    if not f["points"]:
        return "\n".join(lines + ["", "No fixed point found (slow points: the Dynamics tab's)."])
    lines += ["", f"| input | stability | largest \\|\u03bb\\| | slowest \u03c4 (chars) | h {cell} there | "
              "its share of the slowest mode |", "|---|---|---|---|---|---|"]
    for p in f["points"]:
        tau = "\u2013" if p["tau"] is None else f"{p['tau']:,.1f}"
        lines.append(f"| {p['char']!r} | {p['stability']} | {p['largest_abs_eigenvalue']:.5f} | {tau} | "
                     f"{p['h']:+.3f} | {p['slow_share']:.3f} |")
    return "\n".join(lines + ["", "The Dynamics tab's fixed points of the whole network's update with the input "
                              "held (its slow points are left out here); the slowest mode: the Jacobian's eigenvector "
                              "of largest |\u03bb| there (what a push off the point keeps longest), its squared "
                              f"entries summing to 1 over the {f['state_size']} numbers of the state (an equal share: "
                              f"{f['equal_slow_share']:.3f})."])
