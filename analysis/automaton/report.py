"""What `rnnscope automaton` computes, as one JSON-ready dict (docs/automaton-json.md), and its text.

For a model of the grammar: the grammar's own minimal DFA; the L* extraction and its exact comparison
with that DFA (equivalent, or the shortest separating string and which side accepts it); the
quantisation sweep over held-out states read in context, with the smallest k whose machine is
equivalent. For any other model (theta given) the same without the grammar's side.
"""
from __future__ import annotations

import dataclasses
import shlex

import numpy as np

from rnnscope import grammar
from rnnscope.analysis.automaton import lstar, quantise
from rnnscope.analysis.automaton.deeper import counting_numbers
from rnnscope.analysis.automaton.equivalence import isomorphic, separating_string
from rnnscope.analysis.automaton.membership import THETA_RULE, ModelLanguage, check_theta, default_theta
from rnnscope.base.errors import RnnscopeError
from rnnscope.grammar.automaton import grammar_dfa
from rnnscope.grammar.dfa import Dfa
from rnnscope.models.network.model import CharRNN
from rnnscope.models.reading.sample import start_distribution

SCHEMA_VERSION = 1
DEEPER = 8          # how many opening brackets the counting check reads (as deep as `rnnscope generalise` tests)
START_RULE = ("the first character is judged by the start distribution the checkpoint records (a grammar "
              "model: the grammar's own first-token distribution; a text model: its training text's "
              "character frequencies)")


def automaton_numbers(model: CharRNN, name: str, spec: grammar.GrammarSpec | None, heldout: str,
                      theta: float | None = None, seed: int = 0, words: int = lstar.DEFAULT_WORDS,
                      max_length: int = lstar.DEFAULT_LENGTH, chars: int = quantise.DEFAULT_CHARS,
                      ks=quantise.DEFAULT_KS, deeper: int = DEEPER) -> dict:
    theta, rule = _theta(spec, theta)
    _check_sizes(words, max_length, chars, ks, len(heldout))
    start = start_distribution(model)
    reference = grammar_dfa(spec) if spec is not None else None
    if reference is not None and not set(reference.alphabet) <= set(model.config.vocab):
        missing = sorted(set(reference.alphabet) - set(model.config.vocab))
        raise RnnscopeError(f"{name}: its vocabulary lacks {missing} of its own grammar's alphabet")
    language = ModelLanguage(model, theta, start)
    learned = lstar.extract(language, words, max_length, seed)
    learned.dfa = named(learned.dfa, reference)
    counted = None
    if spec is not None:
        counted = counting_numbers(language, learned.dfa, spec.separator, max(deeper, spec.max_depth + 1))
    q = quantise.Quantiser(model, heldout[:chars], theta, start, seed)
    swept = quantise.sweep(q, tuple(ks), reference)
    return {
        "schema_version": SCHEMA_VERSION, "model": name, "grammar": None if spec is None else spec.to_dict(),
        "theta": theta, "theta_rule": rule, "start_rule": START_RULE, "seed": seed,
        "grammar_dfa": None if reference is None else {"states": reference.n_states, "dfa": reference.to_dict()},
        "lstar": learned.numbers(),
        "lstar_vs_grammar": None if reference is None else _compare(learned.dfa, reference),
        "counting": counted,
        "quantise": _quantise_numbers(swept, len(q.text), q.states.shape[1]),
    }


def named(dfa: Dfa, reference: Dfa | None) -> Dfa:
    """``dfa`` with each state named by the shortest string that reaches it and, given ``reference``,
    the reference state the same string reaches (the grammar state an extracted state stands for)."""
    names = []
    for s, access in enumerate(access_strings(dfa)):
        if not dfa.accepting[s] and reference is None:
            names.append(f"rejecting, after {access!r}")
        elif reference is not None and set(access) <= set(reference.alphabet):
            names.append(f"{reference.name(int(reference.run(access)[-1]))} (after {access!r})")
        else:
            names.append(f"after {access!r}")
    return dataclasses.replace(dfa, names=tuple(names))


def access_strings(dfa: Dfa) -> list[str]:
    """The shortest string reaching each state (first in code-point order), breadth first."""
    order = sorted(range(len(dfa.alphabet)), key=lambda a: dfa.alphabet[a])
    found, queue = {dfa.start: ""}, [dfa.start]
    for s in queue:
        for a in order:
            t = int(dfa.transitions[s, a])
            if t not in found:
                found[t] = found[s] + dfa.alphabet[a]
                queue.append(t)
    return [found.get(s, "") for s in range(dfa.n_states)]


def _theta(spec, theta) -> tuple[float, str]:
    if theta is not None:
        return check_theta(theta), "given"
    if spec is None:
        raise RnnscopeError("this model was not trained on the grammar, so there is no default theta: "
                            "give one (--theta P: a character is in the model's language where p >= P)")
    return default_theta(spec), THETA_RULE


def _check_sizes(words: int, max_length: int, chars: int, ks, available: int) -> None:
    if words < 1 or max_length < 1:
        raise RnnscopeError(f"the oracle needs at least one word of at least one character, got {words} "
                            f"words of at most {max_length}")
    if not 2 <= chars <= available:
        raise RnnscopeError(f"--chars must be between 2 and the held-out stream's {available:,}, got {chars}")
    if not ks or min(ks) < 1 or max(ks) > chars:
        raise RnnscopeError(f"every k must be between 1 and the {chars:,} states clustered, got {list(ks)}")


def _compare(learned, reference) -> dict:
    sep = separating_string(learned, reference)
    out = {"equivalent": sep is None, "isomorphic": isomorphic(learned, reference), "separating_string": sep}
    if sep is not None:
        out |= {"model_accepts": learned.accepts(sep), "grammar_accepts": reference.accepts(sep)}
    return out


def _quantise_numbers(swept: dict, chars: int, dims: int) -> dict:
    best = swept["smallest_equivalent"]
    return {"chars": chars, "state_dims": dims, "kmeans_restarts": quantise.N_INIT,
            "statistic": "determinism: share of legal (cluster, character) pairs whose states all go to one "
                         "cluster; purity: share of states in their cluster's most common grammar-DFA state",
            "rows": swept["rows"],
            "smallest_equivalent_k": None if best is None else best["k"],
            "smallest_equivalent": None if best is None else {
                "k": best["k"], "purity": best["purity"], "contingency": best["contingency"],
                "dfa": best["dfa"].to_dict()}}


def automaton_text(n: dict) -> str:
    ls, oracle = n["lstar"], n["lstar"]["oracle"]
    last = oracle["last_round"]
    lines = [f"{n['model']}: theta {n['theta']:.4g} ({n['theta_rule']})"]
    if n["grammar_dfa"]:
        lines.append(f"the grammar's minimal DFA: {n['grammar_dfa']['states']} states "
                     f"({n['grammar_dfa']['states'] - 1} live + the sink)")
    lines.append(f"L*: {ls['states']} states in {ls['seconds']:.1f} s, {ls['rounds']} equivalence rounds, "
                 f"{ls['membership_queries']:,} membership queries, {ls['chars_read']:,} characters read by the model")
    lines.append(f"  oracle: {oracle['words_per_round']:,} of the model's own words per round (at most "
                 f"{oracle['max_length']} characters + 1 random, seed {oracle['seed']}); last round "
                 f"{last['agreed']:,}/{last['words']:,} agreed")
    if not oracle["converged"]:
        lines.append(f"  stopped at the limit of {oracle['max_rounds']} rounds: the last hypothesis still disagrees "
                     f"with the model on {last['words'] - last['agreed']:,} words")
    cmp_ = n["lstar_vs_grammar"]
    if cmp_ is not None:
        if cmp_["equivalent"]:
            iso = "isomorphic" if cmp_["isomorphic"] else "not isomorphic"
            lines.append(f"  equivalent to the grammar's DFA ({iso})")
        else:
            who = "the model accepts it, the grammar does not" if cmp_["model_accepts"] else \
                "the grammar accepts it, the model does not"
            sep = cmp_["separating_string"]
            lines.append(f"  NOT equivalent: shortest separating string {sep!r} ({who})")
            if sep:
                lines.append(f"  see it read: rnnscope export --model {shlex.quote(n['model'])} "
                             f"--text {shlex.quote(sep)} -o separating.html")
    lines += _counting_text(n["counting"])
    q = n["quantise"]
    lines.append(f"quantisation: {q['chars']:,} held-out states read in context ({q['state_dims']} numbers each), "
                 f"k-means (best of {q['kmeans_restarts']})")
    lines.append("       k  states  determinism  purity  equivalent")
    for r in q["rows"]:
        eq = "" if "equivalent" not in r else ("yes" if r["equivalent"] else f"no: {r['separating_string']!r}")
        pur = f"{r['purity']:.4f}" if "purity" in r else "   -  "
        lines.append(f"  {r['k']:>6}  {r['states']:>6}  {r['determinism']:>11.4f}  {pur}  {eq}")
    if q["smallest_equivalent_k"] is not None:
        lines.append(f"  smallest equivalent k: {q['smallest_equivalent_k']} "
                     f"(purity {q['smallest_equivalent']['purity']:.4f})")
    elif n["grammar_dfa"]:
        lines.append("  no k swept gives a machine equivalent to the grammar's DFA")
    return "\n".join(lines)


def transition_rows(dfa: dict) -> list[dict]:
    """One row per state: its number and name, whether it starts and accepts, and the number of the state
    each character leads to."""
    names = dfa["names"] or [f"q{i}" for i in range(len(dfa["accepting"]))]
    return [{"state": f"{s}: {names[s]}", "start": s == dfa["start"], "accepting": dfa["accepting"][s],
             **{repr(c): int(t) for c, t in zip(dfa["alphabet"], np.asarray(dfa["transitions"][s]))}}
            for s in range(len(names))]


def _counting_text(c: dict | None) -> list[str]:
    if c is None:
        return []
    rows = c["rows"]
    first = c["counts_to"] + 1
    line = (f"counting: after 0 .. {c['counts_to']} opening brackets the model is in {first} different states "
            f"of its automaton")
    if first < len(rows):
        r = rows[first]
        where = f"the state {r['name']!r}" if r["name"] else "no state of its automaton (it still tells it apart)"
        line += f"; after {first} it is in {where}"
        same = [x["opens"] for x in rows[first:] if x["state"] == r["state"]]
        if r["state"] is not None and len(same) > 1:
            line += f", and after each of {same[0]} .. {same[-1]} the same"
    return [line]
