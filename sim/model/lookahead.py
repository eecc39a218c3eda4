"""What the way on from a country is worth to a party choosing whether to go there.

A myopic route choice sees only the next country's appeal: Kazakhstan, a place to pass
through rather than to stay, then looks no better to a party that could fly on from
Almaty than to one that can only drive on south.  Looking one move ahead mends that.
The value of being let out at a crossing is the expected best of staying in its
country (the country's appeal) and moving on by one of the alternatives the party may
use from there (their utility from where that crossing lets people out), the logsum of
a nested logit::

    gain = log(1 + sum(exp(onward_utility - appeal)))

It is zero where there is no way on, and grows with the number and the quality of the
ways on.  It is weighed by the share of the country's arrivals who do move on
(``onward_share``; the engine draws who does, not the logit) and by how far people look
ahead (``choice.onward_option_weight``: 0 is the myopic choice, 1 a nested logit whose
nest has the logit's own scale).  The ways on are those a party of its kind (car,
means to fly, documents, group) could ever use there, whatever the day: a plan made at
home does not foresee next week's rules.
"""

from __future__ import annotations

import numpy as np

__all__ = ["onward_option_value"]


def onward_option_value(
    onward_utility: np.ndarray,
    crossing: np.ndarray,
    country: np.ndarray,
    usable_from: np.ndarray,
    stay_utility: np.ndarray,
    onward_share: np.ndarray,
    weight: float,
) -> np.ndarray:
    """Utility each alternative gains from the ways on out of the country it leads to.

    Parameters
    ----------
    onward_utility
        Utility of each alternative from where each crossing lets people out, shape
        (crossings, alternatives) (:attr:`sim.model.routes.Alternatives.onward_utility`).
    crossing, country
        Per alternative: its crossing and its destination country.
    usable_from
        Which alternatives a kind of party may use to leave each country, shape
        (kinds, countries, alternatives).
    stay_utility
        The utility of staying in each country (its appeal), shape (countries,).
    onward_share
        Share of each country's arrivals who move on, shape (countries,).
    weight
        How far people look ahead: 0 sees nothing beyond the next country.

    Returns
    -------
    numpy.ndarray
        Shape (kinds, alternatives): the utility to add to each alternative for each
        kind of party; zero where the destination offers that kind no way on.
    """
    kinds, alternatives = usable_from.shape[0], len(crossing)
    if weight == 0 or not onward_share.any():
        return np.zeros((kinds, alternatives))
    # Per alternative a (rows) and way on b (columns): b's utility from where a lets people out, over staying.
    relative = onward_utility[crossing] - stay_utility[country][:, None]
    ways_on = usable_from[:, country, :]  # (kinds, a, b)
    best_way_on = np.logaddexp.reduce(np.where(ways_on, relative[None], -np.inf), axis=2)
    gain = np.logaddexp(0.0, best_way_on)  # log(1 + sum(exp)): zero where there is no way on
    return weight * onward_share[country][None, :] * gain
