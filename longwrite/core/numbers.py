"""Numbers as people write them in an instruction: 10000, 10,000, 1.5k, ten thousand, 三千,
两千五百, 1.5万. The patterns find them inside a sentence; `parse_number` reads one back."""

from __future__ import annotations

import re

_EN_SMALL = {
    "zero": 0,
    "one": 1,
    "a": 1,
    "an": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_EN_SCALES = {"hundred": 100, "thousand": 1000}
EN_NUMBER_WORD = "|".join(sorted([*_EN_SMALL, *_EN_SCALES], key=len, reverse=True))
# Words that count parts ("five entries"): not the articles, not one.
EN_COUNT_WORD = "|".join(w for w, v in sorted(_EN_SMALL.items(), key=lambda kv: -len(kv[0])) if v >= 2)

# A number as people write it before "words": 10000, 10,000, 1.5k, 5K, ten thousand.
EN_DIGITS = r"\d{1,3}(?:[,\u00a0\u202f]\d{3})+|\d+(?:\.\d+)?"
EN_NUM = (
    rf"(?:(?:{EN_DIGITS})\s*[kK]?(?![\w.])|(?:{EN_DIGITS})(?!\d)"
    rf"|(?:\b(?:{EN_NUMBER_WORD})\b(?:[\s-]+(?:and[\s-]+)?(?:{EN_NUMBER_WORD})\b)*))"
)
_ZH_NUMERAL = r"[\d.,，零〇一二两三四五六七八九十百千万]"
ZH_NUM = rf"(?:{_ZH_NUMERAL}*[\d零〇一二两三四五六七八九十百千万])"
ZH_COUNT_NUM = r"(?:\d{1,3}|[零〇一二两三四五六七八九十百]{1,4})"
# Not inside an ordinal or a longer number: "第三章" and the "二章" of "第十二章" count nothing.
ZH_NOT_ORDINAL = r"(?<![第\d零〇一二两三四五六七八九十百千万])"


def parse_number(raw: str, smallest: int = 2) -> int | None:
    """An English or Chinese number as written in an instruction, or None.

    Spelled-out English numbers below `smallest` are refused: "one word" is not a length request,
    but "one page" is (the unit rules pass 1).
    """
    text = raw.strip().replace(",", "").replace("，", "").replace("\u00a0", "").replace("\u202f", "")
    if not text:
        return None
    if re.fullmatch(r"\d+(?:\.\d+)?\s*[kK]", text):
        return round(float(text[:-1].strip()) * 1000)
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        value = float(text)
        return round(value) if value.is_integer() else None
    if re.search(r"[a-zA-Z]", text):
        return _parse_english_words(text, smallest)
    return _parse_chinese_number(text)


def _parse_english_words(text: str, smallest: int = 2) -> int | None:
    total = current = 0
    seen = False
    words = [w for w in re.split(r"[\s-]+", text.lower()) if w]
    if len(words) > 1 and words[0] in ("a", "an") and words[1] not in _EN_SCALES:
        words = words[1:]  # the article in "a two thousand word story"
    for word in words:
        if word == "and" or not word:
            continue
        if word in _EN_SMALL:
            current += _EN_SMALL[word]
            seen = True
        elif word == "hundred":
            current = (current or 1) * 100
            seen = True
        elif word == "thousand":
            total += (current or 1) * 1000
            current = 0
            seen = True
        else:
            return None
    value = total + current
    return value if seen and value >= smallest else None


_ZH_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_ZH_SMALL_UNIT = {"十": 10, "百": 100, "千": 1000}


def _parse_chinese_number(text: str) -> int | None:
    """Chinese numerals, also mixed with Arabic digits: 三千, 两千五百, 一千五, 1.5万, 1万5千."""
    pieces = re.findall(r"\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千万]", text)
    if "".join(pieces) != text:
        return None
    total = 0.0  # everything before the last 万
    section = 0.0  # the part below 万
    current: float | None = None
    last_unit = 0
    digit_follows_unit = False  # "一千五" means 1500: a bare digit after a unit scales down
    for piece in pieces:
        if piece in _ZH_DIGIT or piece[0].isdigit():
            digit_follows_unit = piece in _ZH_DIGIT and last_unit > 0 and current is None
            current = float(_ZH_DIGIT.get(piece, 0) if piece in _ZH_DIGIT else float(piece))
            if piece in ("零", "〇"):
                last_unit = 0
        elif piece in _ZH_SMALL_UNIT:
            unit = _ZH_SMALL_UNIT[piece]
            section += (1.0 if current is None else current) * unit
            current, last_unit, digit_follows_unit = None, unit, False
        else:  # 万
            total = (total + section + (current or 0.0)) * 10000 if (section or current) else 10000.0
            section, current, last_unit, digit_follows_unit = 0.0, None, 10000, False
    if current is not None:
        section += current * (last_unit / 10 if digit_follows_unit else 1)
    value = total + section
    return round(value) if value >= 1 and float(value).is_integer() else None
