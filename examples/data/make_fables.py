"""Write fables.txt: a few hundred KB of generated English fables for the character-level
language model example (examples/char_lm.py).

The text is produced by this script from a small hand-written grammar (no outside source), so it
carries no one's copyright; it is dedicated to the public domain (CC0). Regenerate with

    python examples/data/make_fables.py [--kb 300]
"""
from __future__ import annotations

import argparse
import os
import random

ANIMALS = ["fox", "crow", "hare", "tortoise", "lion", "mouse", "wolf", "lamb", "ant",
           "grasshopper", "owl", "frog", "stag", "goat", "dog", "cat", "eagle", "bee", "bear",
           "heron", "donkey", "horse", "rooster", "swallow", "badger", "otter"]
ADJ = ["old", "young", "proud", "clever", "foolish", "hungry", "patient", "greedy", "kind",
       "lazy", "busy", "wise", "vain", "timid", "bold", "tired", "honest", "sly", "gentle",
       "quick", "slow", "small", "great", "poor", "rich"]
PLACES = ["by the river", "in the deep forest", "on the high hill", "near the old mill",
          "at the edge of the field", "under the oak tree", "beside the quiet pond",
          "in the farmer's yard", "on the dusty road", "among the reeds", "in the green meadow",
          "at the foot of the mountain", "near the village well", "in the orchard"]
TIMES = ["One morning", "Long ago", "Once upon a time", "On a cold winter day",
         "In the heat of summer", "When the harvest was over", "One evening",
         "At the break of day", "After a long rain", "In the spring"]
THINGS = ["a piece of cheese", "a bunch of grapes", "a golden egg", "a bone", "a basket of corn",
          "a shining coin", "a jar of honey", "a fine feather", "a ripe pear", "a loaf of bread",
          "a silver bell", "a warm coat", "a bag of seeds", "a drop of water"]
VERBS = ["found", "wanted", "carried", "hid", "lost", "shared", "stole", "guarded",
         "offered", "dropped", "admired", "buried"]
FEELINGS = ["laughed", "sighed", "wept", "smiled", "frowned", "shouted", "whispered",
            "trembled", "rejoiced", "grumbled"]
SAYINGS = ["Slow and steady wins the race.", "Pride goes before a fall.",
           "A friend in need is a friend indeed.", "Look before you leap.",
           "Do not count your chickens before they are hatched.",
           "Little by little does the trick.", "Union gives strength.",
           "Necessity is the mother of invention.", "Appearances often deceive.",
           "Be content with what you have.", "Kindness is never wasted.",
           "It is easy to be brave from a safe distance.",
           "Those who flatter you want something from you.",
           "Work today and you will eat tomorrow.", "Honesty is the best policy.",
           "The gods help those who help themselves.", "Gratitude is the sign of noble souls."]
SPEECH = ["Good day, friend", "Why do you hurry so", "What a fine thing you have there",
          "Will you share it with me", "I am stronger than you", "You will be sorry",
          "Help me, I beg you", "Let us be friends", "I shall not forget this",
          "Come and see what I have found", "Leave me in peace", "How foolish I have been",
          "There is enough for both of us", "Tell me your secret"]


def a_an(word: str) -> str:
    return ("an " if word[0] in "aeiou" else "a ") + word


def character(r: random.Random) -> tuple[str, str]:
    animal = r.choice(ANIMALS)
    return f"{r.choice(ADJ)} {animal}", animal


def fable(r: random.Random) -> str:
    (d1, a1), (d2, a2) = character(r), character(r)
    while a2 == a1:
        d2, a2 = character(r)
    thing = r.choice(THINGS)
    lines = [f"THE {a1.upper()} AND THE {a2.upper()}", ""]
    s = [f"{r.choice(TIMES)}, {a_an(d1)} lived {r.choice(PLACES)}."]
    s.append(f"The {a1} {r.choice(VERBS)} {thing} and thought of nothing else all day.")
    s.append(f"Soon {a_an(d2)} came along {r.choice(PLACES)}.")
    para = [" ".join(s)]
    for _ in range(r.randint(2, 4)):
        speaker, other = (a1, a2) if r.random() < 0.5 else (a2, a1)
        mark = "?" if r.random() < 0.4 else "!" if r.random() < 0.3 else "."
        line = f"\"{r.choice(SPEECH)}{mark}\" said the {speaker}."
        if r.random() < 0.5:
            line += f" The {other} {r.choice(FEELINGS)} and said, \"{r.choice(SPEECH)}.\""
        para.append(line)
    end = r.choice([
        f"In the end the {a1} {r.choice(VERBS)} {thing}, and the {a2} went home with nothing.",
        f"So the {a2} and the {a1} {r.choice(VERBS)} {thing} together, and both were glad.",
        f"But while they argued, {thing} fell into the water and was lost forever.",
        f"The {a2} ran off with {thing}, and the {a1} {r.choice(FEELINGS)} all night.",
    ])
    para.append(end)
    lines.append("\n".join(para))
    lines += ["", f"Moral: {r.choice(SAYINGS)}", "", ""]
    return "\n".join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kb", type=int, default=300)
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                 "fables.txt"))
    a = p.parse_args()
    r = random.Random(0)
    parts, size = [], 0
    while size < a.kb * 1024:
        f = fable(r)
        parts.append(f)
        size += len(f)
    with open(a.out, "w") as fh:
        fh.write("".join(parts))


if __name__ == "__main__":
    main()
