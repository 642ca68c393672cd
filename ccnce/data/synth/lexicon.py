"""The synthetic lexicon: gesture classes, the phrase families linked to them, and filler speech.

The many-to-one structure the paper's hypothesis needs (SYNTHETIC.md, requirement 2): every gesture class
is linked to at least three *semantically unrelated* phrase families ("someone gave me a gift" and "my
heart is beating so fast" both go with pointing at oneself), each family has several phrasings, a few
families are ambiguous (two classes with set probabilities), and filler speech between key phrases goes
with rest, beats or a gesture that no phrase explains.

Class ids are stable: they are what ``synth/gesture`` stores. Family ids index :data:`FAMILIES` and are
what ``synth/phrase`` stores (-1: no key phrase).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class GestureClass:
    id: int
    name: str
    description: str


GESTURES: tuple[GestureClass, ...] = (
    GestureClass(0, "rest", "hands at rest with small drifting movement"),
    GestureClass(1, "self_point", "dominant hand comes to the chest, index pointing at oneself, two small taps"),
    GestureClass(2, "span", "both hands start together in front of the chest and spread wide apart, then hold"),
    GestureClass(3, "beats", "dominant forearm beats up and down in front of the body, palm down, 2-3 beats per second"),
    GestureClass(4, "raise", "the other arm rises above the shoulder, open hand up, with a small wave"),
    GestureClass(5, "open_palms", "both hands move outward and up with open palms, shoulders lift (a shrug)"),
    GestureClass(6, "circle", "dominant hand draws one or two circles in front of the shoulder"),
    GestureClass(7, "point_away", "dominant arm stretches out sideways, index pointing away"),
    GestureClass(8, "chop", "both flat hands close together in front chop downward twice"),
)
N_GESTURES = len(GESTURES)
GESTURE_NAMES: tuple[str, ...] = tuple(g.name for g in GESTURES)
REST = 0
BEATS = 3


@dataclass(frozen=True)
class PhraseFamily:
    """A family of phrasings with one meaning, and the gesture classes it goes with.

    ``classes`` maps class id → probability; two entries make the family ambiguous.
    """

    id: int
    name: str
    phrasings: tuple[str, ...]
    classes: tuple[tuple[int, float], ...]

    @property
    def ambiguous(self) -> bool:
        return len(self.classes) > 1


# (name, classes, phrasings): unambiguous families first (three per class), then the ambiguous ones
_FAMILY_TABLE: tuple[tuple[str, dict[int, float], tuple[str, ...]], ...] = (
    # 0 rest
    ("waiting", {0: 1.0}, ("we waited for a long time", "they just sat there waiting", "nothing happened for hours")),
    ("quiet", {0: 1.0}, ("it was very quiet", "the room went silent", "everyone kept calm and quiet")),
    ("sleep", {0: 1.0}, ("the baby fell asleep", "i went to bed early", "he was sound asleep")),
    # 1 self_point
    ("gift", {1: 1.0}, ("someone gave me a gift", "my friend bought me a present", "they sent me a little gift")),
    ("heart", {1: 1.0}, ("my heart is beating so fast", "i could feel my heart racing", "my heart was pounding")),
    ("myself", {1: 1.0}, ("speaking for myself", "in my own opinion", "i personally believe")),
    # 2 span
    ("bottom_row", {2: 1.0}, ("the entire bottom row", "the whole lower row", "all across the bottom row")),
    ("molecules", {2: 1.0}, ("molecules expand and decay", "the particles spread out and decay",
                             "the atoms expand and break apart")),
    ("country", {2: 1.0}, ("all across the country", "from coast to coast", "the whole nation")),
    # 3 beats
    ("never", {3: 1.0}, ("absolutely never again", "no way at all", "not under any circumstances")),
    ("taxes", {3: 1.0}, ("taxes went up again", "they raised the taxes", "higher taxes for everyone")),
    ("important", {3: 1.0}, ("this is really important", "listen to me carefully", "pay close attention")),
    # 4 raise
    ("greeting", {4: 1.0}, ("hello everyone", "good evening folks", "hi there everybody")),
    ("question", {4: 1.0}, ("i have a question", "can i ask you something", "let me ask you this")),
    ("volunteer", {4: 1.0}, ("who wants to volunteer", "raise your hand if you agree", "anyone want to try")),
    # 5 open_palms
    ("shrug", {5: 1.0}, ("what can you do", "who knows really", "that is just how it goes")),
    ("obvious", {5: 1.0}, ("it is totally obvious", "the answer is plain to see", "everybody knows that")),
    ("honest", {5: 1.0}, ("to be honest with you", "i have nothing to hide", "frankly speaking")),
    # 6 circle
    ("repeat", {6: 1.0}, ("over and over again", "again and again", "the same thing every day")),
    ("orbit", {6: 1.0}, ("the planets orbit the sun", "the moon goes around the earth", "satellites circle the globe")),
    ("cooking", {6: 1.0}, ("you stir the soup slowly", "mix it all together", "keep stirring the pot")),
    # 7 point_away
    ("over_there", {7: 1.0}, ("look at that over there", "right over there", "the building across the street")),
    ("politician", {7: 1.0}, ("the president said", "those guys in congress", "the senator from texas")),
    ("long_ago", {7: 1.0}, ("back in the old days", "a long time ago", "years and years ago")),
    # 8 chop
    ("rules", {8: 1.0}, ("the rules are the rules", "there are strict limits", "you have to draw the line")),
    ("steps", {8: 1.0}, ("step by step", "one piece at a time", "first this and then that")),
    ("budget_cut", {8: 1.0}, ("they cut the budget", "the program was slashed", "funding was cut in half")),
    # ambiguous: two classes with set probabilities
    ("whole_world", {2: 0.6, 6: 0.4}, ("the whole wide world", "all over the world", "everywhere on the planet")),
    ("sky_high", {4: 0.7, 5: 0.3}, ("prices went through the roof", "it went sky high", "the numbers shot up")),
    ("you_and_me", {1: 0.6, 7: 0.4}, ("between you and me", "you and i both know", "just the two of us")),
    ("hold_on", {8: 0.6, 4: 0.4}, ("stop right there", "hold on a second", "wait a minute")),
    ("knocking", {3: 0.7, 8: 0.3}, ("knock knock knock", "bang bang bang", "tick tock tick tock")),
    ("calm_down", {0: 0.6, 5: 0.4}, ("take a deep breath", "relax for a moment", "just calm down")),
)

FAMILIES: tuple[PhraseFamily, ...] = tuple(
    PhraseFamily(i, name, phrasings, tuple(sorted(classes.items())))
    for i, (name, classes, phrasings) in enumerate(_FAMILY_TABLE)
)
N_FAMILIES = len(FAMILIES)

AMBIGUOUS_FRACTION = 6 / 33
"""The share of phrase families (and, since families are drawn uniformly, of key-phrase occurrences)
that are ambiguous: 6 of 33."""

# Speech between key phrases; none of these is a key phrase. Short discourse markers and neutral clauses.
FILLERS: tuple[str, ...] = (
    "you know", "so", "and", "well", "i mean", "basically", "the thing is", "right", "okay so",
    "as i was saying", "anyway", "let me tell you", "in fact", "actually", "by the way", "and then",
    "you see", "of course", "like i said", "at the end of the day", "believe it or not", "the point is",
    "here is the thing", "for example", "to be fair", "it turns out", "this week", "last night",
    "on the show", "people say", "we talked about it", "now", "but", "so yeah", "and you know what",
    "tonight", "this morning", "somebody told me", "apparently", "seriously",
)

# What the body does during filler speech (SYNTHETIC.md: rest or beat motion, sometimes an unexplained gesture)
FILLER_MOTION: tuple[tuple[str, float], ...] = (("rest", 0.5), ("beats", 0.3), ("unlinked", 0.2))


def families_of(class_id: int, include_ambiguous: bool = True) -> list[PhraseFamily]:
    """The phrase families linked to ``class_id``."""
    return [f for f in FAMILIES if class_id in dict(f.classes) and (include_ambiguous or not f.ambiguous)]


def ambiguous_fraction() -> float:
    """Share of ambiguous families, computed from the table (equals :data:`AMBIGUOUS_FRACTION`)."""
    return sum(f.ambiguous for f in FAMILIES) / N_FAMILIES


def sample_class(family: PhraseFamily, rng: np.random.Generator) -> int:
    """Draw the gesture class that goes with one occurrence of ``family``."""
    ids = [c for c, _ in family.classes]
    probs = np.array([p for _, p in family.classes])
    return int(ids[rng.choice(len(ids), p=probs / probs.sum())]) if len(ids) > 1 else int(ids[0])


def vocabulary() -> list[str]:
    """Every word the generator can say (for tokenising once, up front)."""
    words = {w for f in FAMILIES for p in f.phrasings for w in p.split()}
    words |= {w for p in FILLERS for w in p.split()}
    return sorted(words)
