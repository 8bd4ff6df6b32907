"""Black-box extraction: Angluin's L* (AALpy's) with the network as the system under learning
(Weiss, Goldberg & Yahav 2018).

Membership questions go to membership.py's ModelLanguage. The equivalence oracle never looks at the
grammar, so what is learned is what the network does: each round it draws words the model itself
would write (every character legal by the model's own probabilities), cuts each at a random length
and ends it with one character drawn uniformly from the alphabet, and asks whether the hypothesis
and the model agree on every prefix. Random words over the alphabet would die at their first illegal
character and never reach the deep states (measured: AALpy's random-word oracle stopped at 5-9
states for the shipped GRU); the model's own words go wherever the model goes. The first word on
which they disagree, cut after the first disagreement, is the counterexample; a round with none ends
learning. What this cannot promise: a difference no drawn word reaches stays unseen; the oracle's
sizes are in the result.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from rnnscope.analysis.automaton.membership import ModelLanguage
from rnnscope.base.runtime import torch_threads
from rnnscope.grammar.dfa import Dfa

DEFAULT_WORDS = 3_000        # words per equivalence round
DEFAULT_LENGTH = 60          # the longest own word before its random last character (~30 tokens)
ORACLE = ("words the model itself writes (each character drawn from its own distribution among those with "
          "p >= theta), cut at a length uniform in 0..max_length, each ending in one character drawn "
          "uniformly from the alphabet; a round passes when the hypothesis agrees on every prefix of every word")


@dataclass
class LStarResult:
    dfa: Dfa                       # minimal, numbered breadth first
    rounds: int                    # equivalence rounds (hypotheses offered)
    membership_queries: int        # questions L* asked (AALpy's count, its own cache excluded)
    model_calls: int               # padded batches run through the model
    chars_read: int                # characters those batches held
    seconds: float
    oracle: dict                   # what the equivalence oracle drew, and its last round's agreement

    def numbers(self) -> dict:
        return {"states": self.dfa.n_states, "rounds": self.rounds, "membership_queries": self.membership_queries,
                "model_calls": self.model_calls, "chars_read": self.chars_read,
                "seconds": round(self.seconds, 3), "oracle": self.oracle, "dfa": self.dfa.to_dict()}


def _sul(language: ModelLanguage):
    from aalpy.base import SUL

    class ModelSUL(SUL):
        """AALpy asks whole words; the model answers every prefix at once (no step-by-step reset)."""
        def query(self, word: tuple) -> list:
            self.num_queries += 1
            self.num_steps += len(word)
            return language.outputs("".join(word))

        def pre(self):
            pass

        def post(self):
            pass

        def step(self, letter):          # never called: query answers the whole word
            raise NotImplementedError

    return ModelSUL()


def _oracle(language: ModelLanguage, sul, words: int, max_length: int, seed: int):
    from aalpy.base import Oracle

    class OwnWordsOracle(Oracle):
        def __init__(self):
            super().__init__(list(language.alphabet), sul)
            self.rng = np.random.default_rng(seed)
            self.rounds = 0
            self.last = {}

        def find_cex(self, hypothesis):
            self.rounds += 1
            hyp = Dfa.from_aalpy(hypothesis, language.alphabet)
            tests = draw_words(language, words, max_length, self.rng)
            truths = language.outputs_many(tests, keep=False)
            self.num_queries += len(tests)
            self.num_steps += sum(map(len, tests))
            found, agreed = None, 0
            for word, truth in zip(tests, truths):
                mine = hyp.accepting[hyp.run(word)[1:]]
                wrong = np.flatnonzero(mine != np.asarray(truth))
                if len(wrong) == 0:
                    agreed += 1
                elif found is None or wrong[0] + 1 < len(found):
                    found = word[:wrong[0] + 1]
            self.last = {"words": len(tests), "agreed": agreed, "longest_word": max(map(len, tests))}
            return None if found is None else tuple(found)

    return OwnWordsOracle()


def draw_words(language: ModelLanguage, n: int, max_length: int, rng: np.random.Generator) -> list[str]:
    """The oracle's test words: own words of the model cut at random lengths, each plus one random character."""
    own = language.own_words(n, max_length, rng)
    cuts = rng.integers(0, max_length + 1, size=n)
    last = rng.integers(0, len(language.alphabet), size=n)
    return [w[:k] + language.alphabet[c] for w, k, c in zip(own, cuts, last)]


def extract(language: ModelLanguage, words: int = DEFAULT_WORDS, max_length: int = DEFAULT_LENGTH,
            seed: int = 0, max_rounds: int = 50) -> LStarResult:
    """Run L* against ``language``; the result is minimal (L*'s hypotheses are) and renumbered."""
    from aalpy.learning_algs import run_Lstar
    began = time.perf_counter()
    sul = _sul(language)
    oracle = _oracle(language, sul, words, max_length, seed)
    with torch_threads(1):
        hypothesis, info = run_Lstar(list(language.alphabet), sul, oracle, automaton_type="dfa",
                                     max_learning_rounds=max_rounds, return_data=True, print_level=0)
    dfa = Dfa.from_aalpy(hypothesis, language.alphabet).minimised()
    return LStarResult(
        dfa=dfa, rounds=oracle.rounds, membership_queries=int(info["queries_learning"]),
        model_calls=language.model_calls, chars_read=language.chars_read, seconds=time.perf_counter() - began,
        oracle={"kind": ORACLE, "words_per_round": words, "max_length": max_length, "seed": seed,
                "theta": language.theta, "last_round": oracle.last, "max_rounds": max_rounds,
                # False: stopped at max_rounds with the oracle still finding counterexamples
                "converged": oracle.last.get("agreed") == oracle.last.get("words")})
