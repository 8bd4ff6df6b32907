"""What cells do: ``Model.explain`` (the terms behind one value), ``Model.match`` (LSTMVis: where else a
span's cells are on), ``Model.compare`` (two models' cells paired) and :func:`generalise` (counting
deeper than trained). A mixin of :class:`rnnscope.Model`; rnnscope/api/model.py is the class."""
from __future__ import annotations

from rnnscope.api.reports import Report
from rnnscope.base.errors import RnnscopeError
from rnnscope.base.heldout_defaults import COMPARE_CHARS


class Analysis:
    def explain(self, trace, step: int, cell: int, layer: int = 0) -> Report:
        """The terms that made ``cell``'s value at ``step`` of ``trace`` (a Trace of this model): each gate's
        value and pre-activation split into input (W_i x + b_i) and recurrent (W_h h_prev + b_h) parts, the
        largest contributions, and the update with its numbers, from the NumPy reference equations
        (analysis/describe/explain.py)."""
        from rnnscope.analysis.describe.explain import explain, explain_text
        tr, model = trace.raw, self.module
        self.check_layer(layer)
        if not 0 <= step < len(tr):
            raise RnnscopeError(f"step {step} is outside the sequence (0 .. {len(tr) - 1})")
        x, names = ((model.input_vectors(tr.text)[step], model.input_names()) if layer == 0 else
                    (tr.hidden[layer - 1][step], [f"layer {layer - 1} cell {j}" for j in range(self.hidden_size)]))
        result = explain(tr, model.layer_arrays(layer), x, names, layer, cell, step, self.config.nonlinearity)
        return Report(result, f"cell {cell} at step {step}", explain_text)

    def causal_code(self, annotation: str, layer: int | None = None, chars: int | None = None, pairs: int = 500,
                    max_cells: int = 32, seed: int = 0) -> Report:
        """The cells ``layer`` (default the top one) carries ``annotation`` in, as the model reads them: pairs
        of held-out contexts (the first ``chars`` characters read in context; None: 100,000, or the whole
        stream when it is shorter) that read the same character
        and differ in the annotation; cells copied from one into the other, greedily, until the next-character
        distribution has moved 99% of the way to the other's (share of the KL gap closed), beside random
        sets of as many cells (analysis/intervene/interchange.py; `rnnscope probe --causal`). Its numbers are
        one entry of docs/probe-json.md's ``interchange_codes``."""
        from rnnscope.analysis.decode.probing import interchange_code, interchange_lines
        if layer is not None:
            self.check_layer(layer)
        tr, ann = self.heldout_trace(chars)
        code = interchange_code(self.module, tr, ann, annotation, layer, pairs, max_cells, seed).to_dict()
        return Report(code, f"causal code of {annotation}", lambda n: "\n".join(interchange_lines([n])))

    def match(self, trace, start: int, end: int, threshold: float = 0.5, layer: int = 0, top: int = 20,
              corpus: str | None = None, store=None) -> Report:
        """LSTMVis select and match: the on-cells of ``trace`` (a Trace of this model) over steps ``start`` ..
        ``end`` (inclusive; h above ``threshold`` throughout and not just outside), then the ``top`` runs of
        ``corpus`` (default the held-out stream) where all of them are on, fewest other cells on first.
        The corpus states, read in context, live in a Zarr store at ``store`` (default a cache folder
        keyed by model and text), built on first use (analysis/describe/match.py)."""
        from rnnscope.analysis.describe.match import match, on_cells
        from rnnscope.models.store.zarr_store import default_store_path, store_for
        self.check_layer(layer)
        cells = on_cells(trace.raw.hidden[layer], start, end, threshold)
        if len(cells) == 0:       # before the store is built: nothing would come of it
            raise RnnscopeError(f"no cell of layer {layer} is above {threshold:g} throughout steps "
                                f"{start} .. {end} and not just outside them: select another span "
                                "or lower --threshold")
        corpus = self.heldout.text if corpus is None else corpus
        path = store or default_store_path(self.module, corpus)
        found = match(store_for(self.module, corpus, path)[f"h_l{layer}"], cells, threshold, end - start + 1, top=top)
        result = {"selection": {"start": start, "end": end, "text": trace.text[start:end + 1],
                                "threshold": threshold, "layer": layer, "on_cells": [int(c) for c in cells]},
                  "corpus": {"chars": len(corpus), "store": str(path)},
                  "matches": [f.to_dict() | {"text": corpus[f.start:f.end + 1],
                                             "context": corpus[max(0, f.start - 10):f.end + 11]} for f in found]}
        return Report(result, f"matches of steps {start} .. {end}", _match_text)

    def compare(self, other, trace, view: str = "h", layer: int = 0, other_layer: int = 0,
                match_on: str = "held-out", chars: int | None = None, note: str = "") -> Report:
        """This model's cells (A) paired with ``other``'s (B, a Model) by Pearson r over the first ``chars``
        of A's held-out stream read in context by both (None: 20,000, or the whole stream when it is shorter;
        more than it holds are refused) (``match_on="sequence"``: over ``trace``, a Trace of
        this model, which B reads the same way), then an optimal one-to-one assignment on |r|
        (analysis/describe/compare.py). ``.to_html()`` draws both heatmaps of ``trace`` in pair order,
        ``note`` added to its caption after the character count."""
        from rnnscope.analysis.describe.compare import check_readable, compare_models, match_cells
        a, b = self, other
        check_readable(b.module, trace.text, "model B")
        if trace.index is None or not trace.in_context:
            tr_b = b.trace(trace.text).raw
        else:         # B reads A's held-out stream along from its start too: in context, as A does
            from rnnscope.models.reading.context import StreamReader
            from rnnscope.models.reading.window import read_window
            tr_b = read_window(StreamReader(b.module, a.heldout.text, a.heldout.annotations), trace.index, len(trace))
        tr_a = trace.raw
        if match_on == "sequence":
            comparison = match_cells(tr_a.values(view, layer), tr_b.values(view, other_layer))
            basis = "the sequence shown"
        else:
            chars = a.heldout_chars(chars, COMPARE_CHARS)
            if not 2 <= chars <= len(a.heldout.text):
                raise RnnscopeError(f"pairing needs 2 to {len(a.heldout.text):,} held-out characters (the held-out "
                                    f"stream of model A: {a.heldout.origin}), got {chars:,}")
            text = a.heldout.text[:chars]
            comparison = compare_models(a.module, b.module, text, view, layer, other_layer)
            basis = f"the first {len(text):,} characters of model A's held-out stream, read in context by both"
        names = (f"A {a.name}", f"B {b.name}")
        numbers = {"model_a": a.ref, "model_b": b.ref, "view": view, "layer_a": layer, "layer_b": other_layer,
                   "matched_on": basis} | comparison.to_dict()

        def html(_) -> str:
            from rnnscope.app.drawing.compare import comparison_html
            from rnnscope.app.drawing.frame import make_frame
            frames = (make_frame(tr_a, view, layer), make_frame(tr_b, view, other_layer))
            caption = f"{names[0]} and {names[1]} on {len(tr_a):,} characters{note}; pairs matched on {basis}."
            return comparison_html(*frames, comparison, ("A", "B"), caption)

        def text(_) -> str:
            lines = [f"{names[0]} vs {names[1]}, view {view}: Pearson r over {basis}; "
                     f"mean |r| of the {len(comparison.pairs)} pairs {comparison.mean_abs_r:.3f}"]
            lines += [f"  A {p.a:>3} <-> B {p.b:>3}  r = {p.to_dict()['r'] if p.to_dict()['r'] is not None else 'n/a'}"
                      for p in comparison.pairs]
            lines += [f"  unmatched in {n}: {cells}" for n, cells in zip(names, (comparison.unmatched_a,
                                                                               comparison.unmatched_b)) if cells]
            return "\n".join(lines)
        return Report(numbers, f"{names[0]} vs {names[1]}", text, html, indent=1, ensure_ascii=True)


def generalise(models, test_depth: int = 8, chars: int = 200_000, threshold: float | None = None,
               seed: int | None = None) -> Report:
    """Depth generalisation (Weiss et al. 2018; analysis/decode/generalise.py): each Model of ``models``,
    trained on the brackets-only grammar, reads a stream of ``chars`` characters allowed to go
    ``test_depth`` deep (seed ``seed``, default one fixed stream), in context; before each token it says
    "`)` is legal" when p(`)`) > ``threshold`` (default half the smallest legal p(`)`) of its training
    grammar). Per true depth: the share right, the steps, the mean p(`)`) (docs/generalise-json.md)."""
    from rnnscope.analysis.decode.generalise import TEST_SEED, comparison, text_table
    numbers = comparison([(m.ref, m.module) for m in models], test_depth, chars, threshold,
                         TEST_SEED if seed is None else seed)

    def html(numbers) -> str:
        from rnnscope.analysis.decode.generalise_report import report_html
        return report_html(numbers)
    return Report(numbers, "depth generalisation", text_table, html)


def _match_text(result: dict) -> str:
    sel, corpus = result["selection"], result["corpus"]
    lines = [f"on-cells of {sel['text']!r} (steps {sel['start']} .. {sel['end']}, h > {sel['threshold']:g}, "
             f"layer {sel['layer']}): {sel['on_cells']}",
             f"best of {corpus['chars']:,} corpus steps (store {corpus['store']}):"]
    lines += [f"  {r['start']:>9,} .. {r['end']:<9,} other cells on {r['extra_on']}, length off by "
              f"{r['length_gap']}:  {r['context']!r}" for r in result["matches"]]
    return "\n".join(lines)

