"""What a whole model does: ``Model.sample``, ``Model.evaluate`` (held-out loss beside the floor,
grammatical samples), ``Model.summary`` (layers and parameters) and ``Model.weights`` (a sum3 model's
weights read as arithmetic). A mixin of :class:`rnnscope.Model`; rnnscope/api/model.py is the class."""
from __future__ import annotations

from rnnscope.api.reports import Report
from rnnscope.base.errors import RnnscopeError


class Evaluation:
    def sample(self, n: int = 1, chars: int = 200, temperature: float = 1.0, seed: int = 0, prime: str = "",
               top_k: int | None = None) -> list[str]:
        """``n`` samples drawn together in lock-step (models/reading/sample.py), each ``prime`` followed
        by ``chars`` sampled characters at softmax ``temperature`` (``top_k``: only among the k most
        likely; 1 is greedy). With no prime a sample starts at the model's own start (its first character
        drawn from the training text's character frequencies)."""
        from rnnscope.models.reading.sample import sample
        self.check_predicts("sample")
        return [prime + text for text in sample(self.module, chars, temperature, seed, [prime] * n, top_k=top_k)]

    def evaluate(self, text: str | None = None, chars: int = 200_000, seed: int = 12345, samples: int = 0,
                 spec=None) -> Report:
        """Mean next-character loss in nats/char on ``text`` read from the zero state, averaged over its
        len(text) - 1 predictions (each character after the first); with no text, on a fresh stream of
        ``chars`` characters of ``spec`` (default the model's own grammar; seed ``seed``) beside its empirical
        floor, or, for a model of text (or one loaded with ``heldout=``), on its whole held-out text.
        ``samples``: also that many 500-token samples, from the start state and after a 200-character
        warm-up, counted grammatical. Numbers: chars, predictions, loss, on (the held-out text's origin),
        floor, ratio_to_floor, grammatical_from_start ("good/n"), first_failures_from_start ..."""
        from rnnscope import grammar
        from rnnscope.models.training.evaluate import grammatical_share, heldout_loss
        self.check_predicts("evaluate as a character model")
        spec = spec or self.spec
        on = None
        if text is None and (spec is None or self.heldout_given is not None):
            text, on = self._heldout_to_evaluate()
        floor = None
        if text is None:
            text = grammar.generate(chars, seed=seed, spec=spec)
            floor = grammar.empirical_floor(text, spec)
        model = self.module
        loss = heldout_loss(model, model.vocab.encode(text)[None])
        result = {"chars": len(text), "predictions": len(text) - 1, "loss": round(loss, 5)}
        if on:
            result["on"] = on
        if floor:
            result |= {"floor": round(floor, 5), "ratio_to_floor": round(loss / floor, 5)}
        if samples:
            spec = spec or grammar.GrammarSpec()
            for name, warm in (("from_start", 0), ("after_warmup", 200)):
                good, reasons = grammatical_share(model, spec, n=samples, seed=seed, warmup_chars=warm)
                result[f"grammatical_{name}"] = f"{good}/{samples}"
                if reasons:
                    result[f"first_failures_{name}"] = reasons
        return Report(result, f"evaluation of {self.name}", _eval_text, indent=2, ensure_ascii=True)

    def _heldout_to_evaluate(self) -> tuple[str, str]:
        """The held-out text a model with no grammar is evaluated on, and where it comes from; a model that
        records none is refused saying what to give."""
        try:
            held = self.heldout
        except RnnscopeError as e:
            if self.heldout_given is not None or "no held-out data known" not in str(e):
                raise                # a recorded text that is gone or changed: say that, not "give one"
            trained_on = (self.training.get("data") or {}).get("kind")
            raise RnnscopeError(f"{self.ref} " + ("was trained on a text file, not the grammar" if trained_on == "text"
                                                 else "records no grammar it was trained on")
                                + ", and records no held-out text: give the text to evaluate on (rnnscope eval: "
                                  "--text, --file or --heldout FILE)") from None
        return held.text, held.origin

    def summary(self) -> Report:
        """Layers, output shapes and parameter counts (models/network/summary.py): ``.to_text()`` the
        table, ``.numbers`` the same as a dict."""
        from rnnscope.models.network.summary import summary, summary_data
        return Report(summary_data(self.module), f"summary of {self.name}", lambda _: summary(self.module),
                      indent=2, ensure_ascii=True)

    def weights(self, triples: int = 5, seed: int = 0) -> Report:
        """What a sum3 model (:func:`rnnscope.train_sum3`) learned, read off its weights: W, U and b of
        h_t = x_t W + h_{t-1} U + b, what each digit adds at its step, and its sums of ``triples`` new
        triples (seed ``seed``) beside the true ones (analysis/decode/weights.py)."""
        from rnnscope.analysis.decode.weights import predictions, sum3_weights, weights_text
        from rnnscope.models.training.sum3 import DIGITS, is_sum3, new_triples, predict
        model = self.module
        if not is_sum3(model):
            raise RnnscopeError(f"{self.ref}: the weights view reads a sum3 model (train one with "
                                f"rnnscope train --task sum3); this is {model.config.describe()}")
        view = sum3_weights(model.layer_arrays(0), model.input_vectors(DIGITS), model.config.input_kind)
        digits = new_triples(triples, seed)
        view["predictions"] = predictions(digits, predict(model, digits))
        return Report(view, f"weights of {self.name}", weights_text, indent=1, ensure_ascii=True)


def _eval_text(result: dict) -> str:
    """The evaluation for people: one line for the loss, one per kind of sample."""
    on = f" of {result['on']}" if result.get("on") else ""
    lines = [f"loss {result['loss']:.5f} nats/char averaged over {result['predictions']:,} predictions (every "
             f"character after the first of {result['chars']:,}{on})"
             + (f" (floor {result['floor']:.5f}, {result['ratio_to_floor']:.5f} x the floor)" if "floor" in result
                else "")]
    for name, label in (("from_start", "from the start state"), ("after_warmup", "after a warm-up")):
        if f"grammatical_{name}" in result:
            lines.append(f"grammatical samples {label}: {result[f'grammatical_{name}']}")
            lines += [f"  {reason}" for reason in result.get(f"first_failures_{name}", [])]
    return "\n".join(lines)
