"""The `q` search answers exactly what a plain case-blind substring test over the four searched fields answers
(computed here in Python, independent of the indexes and of SQL), for Latin and Cyrillic, in any letter case,
with LIKE's wildcards taken literally."""
import random

import pytest

from tests.support.clients import create

NAMES = ["ООО «Волжская сталь»", "АО Северный Ветер", "ИП Иванов Пётр", "Volga Steel Works", "Nordwind Logistics LLC",
         "ёлка и Ёж", "Gamma 100% Cotton", "under_score Ltd", "Иванова Мария", "Петров и партнёры", "ALPHA alpha Alpha",
         "Σίγμα Trading", "Kazan Steel", "steel & sons", "Белая Сталь"]
SEARCHED = ("name", "tax_id", "email", "phone")


def fragments(cards: list[dict], rng: random.Random) -> list[str]:
    """Pieces of the searched values in random letter case, plus words found nowhere and the wildcards."""
    found = []
    for card in rng.sample(cards, 12):
        value = card[rng.choice(SEARCHED)] or card["name"]
        start = rng.randrange(len(value))
        piece = value[start:start + rng.randint(2, 6)].strip() or value[:3]
        found.append("".join(ch.upper() if rng.random() < 0.5 else ch.lower() for ch in piece))
    return found + ["сталь", "СТАЛЬ", "Stee", "ЁЖ", "ёж", "пётр", "%", "_", "100%", "r_s", "nothing-like-this",
                    "@example", "+7 9", "ΣΊΓΜΑ"]


def reference(cards: list[dict], q: str) -> set[str]:
    needle = q.casefold()
    return {card["id"] for card in cards if any(needle in (card[field] or "").casefold() for field in SEARCHED)}


@pytest.mark.parametrize("seed", [1, 2])
def test_search_matches_a_plain_substring_test_of_the_four_fields(manager, seed):
    rng = random.Random(seed)
    cards = [create(manager, name=name, tax_id=f"77{seed}{i:07d}", email=f"{name.split()[-1].lower()}{i}@example.com"
                    .replace("%", "").replace("«", "").replace("»", ""), phone=f"+7 9{i:02d} 555-{i:02d}-{seed}0")
             for i, name in enumerate(NAMES)]
    for q in fragments(cards, rng):
        page = manager.get("/api/v1/clients", query_string={"q": q, "limit": 100})
        assert page.status_code == 200, page.json
        assert {item["id"] for item in page.json["items"]} == reference(cards, q), q
        assert page.json["total"] == len(reference(cards, q)), q
