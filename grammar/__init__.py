"""The nested-parenthesis language (seed 001): generator, oracle, validator and its minimal DFA."""
from .automaton import grammar_dfa
from .dfa import Dfa
from .generate import generate
from .oracle import annotate, empirical_floor, entropy_floor, next_char_distribution, next_char_probs
from .spec import CLOSE, DIGIT, KIND_NAMES, OPEN, SEPARATOR, GrammarError, GrammarSpec
from .validate import Verdict, validate

__all__ = [
    "GrammarError",
    "GrammarSpec", "generate", "annotate", "next_char_probs", "next_char_distribution",
    "entropy_floor", "empirical_floor", "validate", "Verdict",
    "OPEN", "CLOSE", "DIGIT", "SEPARATOR", "KIND_NAMES", "grammar_dfa", "Dfa",
]
