"""The fixed-point result as plain lines, for a terminal (`rnnscope dynamics` without --json)."""
from __future__ import annotations

SHOWN_POINTS = 5          # fixed points listed per input character (the JSON has them all)


def summary_text(numbers: dict) -> str:
    m, starts = numbers["method"], numbers["method"]["starts"]
    lines = [f"fixed points of one step of the network, F(s, x), with the input character x held: "
             f"q = 1/2 ||F(s, x) - s||^2 <= {m['q_tol']:g} is a fixed point ('exact': <= {m['exact_q']:g}, "
             f"Newton converged), up to {m['slow_q']:g} a slow point; points within {m['dedupe_tol']:g} are one",
             f"{starts['in_context'] + starts['random']} starts per character: {starts['in_context']} states read "
             f"in context on {starts['held_out_chars']:,} held-out characters, {starts['random']} random "
             f"(seed {starts['seed']}); searched within: {m['bounds']}; {numbers['seconds']:.2f} s",
             "", f"{'input':<7}{'fixed':>6}{'exact':>6}{'stable':>7}{'slow':>6}{'rest elsewhere':>15}"
                 f"{'largest |eig|':>15}{'slowest tau (steps)':>21}"]
    for i in numbers["inputs"]:
        eig = "-" if i["largest_abs_eigenvalue"] is None else f"{i['largest_abs_eigenvalue']:.9f}"
        tau = "-" if i["slowest_time_constant"] is None else f"{i['slowest_time_constant']:,.1f}"
        lines.append(f"{i['char']!r:<7}{i['fixed_points']:>6}{i['exact']:>6}{i['stable']:>7}{i['slow_points']:>6}"
                     f"{i['starts_elsewhere']:>15}{eig:>15}{tau:>21}")
    lines += ["", "largest |eig|, slowest tau: over the fixed points (tau = -1/ln|eig|, in characters, of the slowest "
                  "decaying mode); rest elsewhere: starts whose q stayed above the slow-point q", ""]
    for i in numbers["inputs"]:
        fixed = [p for p in i["points"] if p["kind"] == "fixed"]
        for p in fixed[:SHOWN_POINTS]:
            near = p["nearest_held_out"]
            where = ", ".join(f"{k} {v}" for k, v in near.items() if k not in ("index", "distance", "char"))
            tau = "-" if p["slowest_time_constant"] is None else f"{p['slowest_time_constant']:,.1f}"
            growing = f" ({p['unstable_modes']} growing modes)" if p["unstable_modes"] else ""
            lines.append(f"  {i['char']!r}: q {p['q']:.2g}, {p['stability']}{growing}, largest |eig| "
                         f"{p['largest_abs_eigenvalue']:.9f}, slowest tau {tau}; from {p['starts']} start(s); "
                         f"nearest held-out state: character {near['index']:,} {near['char']!r} at distance "
                         f"{near['distance']:.3f}" + (f" ({where})" if where else ""))
        if len(fixed) > SHOWN_POINTS:
            lines.append(f"  {i['char']!r}: and {len(fixed) - SHOWN_POINTS} more fixed points (see --json)")
    return "\n".join(lines)
