"""Japanese text analysis for the past-answer index.

Two views of the same text are indexed:

* morphological terms: SudachiPy normalized forms (問合せ = 問い合わせ) of the
  content words, split mode C plus the mode-A parts of compounds, so that both
  「マイナンバーカード」 and 「カード」 match;
* character bigrams: robust for unknown administrative words and two-character
  terms the dictionary splits differently.

Both start from :func:`normalize` (NFKC, so ＤＸ = DX, lower-cased ASCII).
Council questions are wrapped in stock phrases (「について伺う」「市の見解を伺う」);
:func:`strip_stock_phrases` removes them from queries and the morphological
stoplist keeps them out of the index, so that they never outweigh the content
words of a long question.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterator
from typing import Any

from whoosh.analysis import Token, Tokenizer

_WS = re.compile(r"\s+")
# Markdown emphasis and similar markup found in converted municipal documents.
_MARKUP = re.compile(r"[*_`#|]+")


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def display_normalize(text: str) -> str:
    """NFKC (ＤＸ → DX), markup removed, whitespace collapsed; what snippets show."""
    text = unicodedata.normalize("NFKC", text or "")
    text = _MARKUP.sub(" ", text)
    return _WS.sub(" ", text).strip()


def normalize(text: str) -> str:
    """:func:`display_normalize` plus ASCII lower-casing (same length, so offsets carry over)."""
    return display_normalize(text).translate(_ASCII_LOWER)


# Formulaic phrases of council questions and answers. They carry no topic, yet in
# a long question they would contribute dozens of bigrams to every query.
_STOCK_PHRASES = [
    r"(?<![\u3400-\u9fff])(?:本市|当市|市|市長|教育長|市当局|当局|執行部)(?:として|では|における|の|は|が|も)",
    r"(?:ご)?(?:見解|所見|認識|考え|お考え|方針|決意)を(?:お)?(?:伺|うかが|聞|お聞き|問|示|求)[いうえおっきしめ]*",
    r"(?:について|に関して|に関し|に対して|に対し|では|には)?(?:お)?(?:伺|うかが)(?:い|う|いたします|います|いたしたい|いたい|いたく)(?:ます)?",
    r"(?:お)?(?:尋ね|たずね|聞き|問い)(?:します|いたします|したい|する)",
    r"(?:と|も)?(?:考え|思|存じ)(?:る|ます|られる|われる|うが|いますが|ますが|るが|るところ|ておりますが)[がけど、]*",
    r"いかが(?:か|でしょうか|ですか|お考えか|お考えでしょうか|考えるか)?",
    r"どのように(?:お)?(?:考え|捉え|取り組|進め|対応)[^、。]{0,6}(?:か|のか)",
    r"(?:について|に関して|に関し)",
    r"(?:すべき|するべき|が必要|必要がある)(?:と|では)?",
    r"(?:お答え|答弁|お示し)(?:いたします|します|ください|願います|下さい)",
    r"(?:以上|次に|まず|また|さらに|最後に)(?:、)?",
]
_STOCK_RE = re.compile("|".join(f"(?:{p})" for p in _STOCK_PHRASES))


def strip_stock_phrases(text: str) -> str:
    """Remove formulaic council phrasing from normalized text, keeping content words."""
    return _STOCK_RE.sub(" ", text)


# Normalized forms that are grammatical or formulaic in this domain.
MORPH_STOPWORDS = frozenset(
    [
        "する",
        "ある",
        "いる",
        "なる",
        "できる",
        "出来る",
        "おる",
        "られる",
        "れる",
        "せる",
        "行う",
        "思う",
        "考える",
        "伺う",
        "述べる",
        "求める",
        "言う",
        "いう",
        "図る",
        "進める",
        "受ける",
        "見る",
        "持つ",
        "示す",
        "致す",
        "頂く",
        "下さる",
        "参る",
        "申す",
        "存ずる",
        "願う",
        "答える",
        "こと",
        "もの",
        "ため",
        "よう",
        "とき",
        "ところ",
        "ほう",
        "方",
        "等",
        "など",
        "他",
        "上",
        "中",
        "下",
        "内",
        "後",
        "前",
        "的",
        "化",
        "性",
        "所",
        "者",
        "点",
        "面",
        "見解",
        "所見",
        "考え",
        "認識",
        "方針",
        "答弁",
        "質問",
        "件",
        "旨",
        "点",
        "如何",
        "いかが",
        "今後",
        "現在",
        "現状",
        "状況",
        "本市",
        "当市",
        "市",
        "市長",
        "当局",
        "我々",
        "私",
        "私たち",
        "皆様",
        "皆さん",
        "様",
        "さん",
        "分",
        "回",
        "つく",
        "伴う",
        "関する",
        "対する",
        "係る",
        "於く",
        "因る",
        "依る",
        "これ",
        "それ",
        "あれ",
        "どれ",
        "ここ",
        "そこ",
        "どこ",
        "この",
        "その",
        "あの",
        "どの",
    ]
)

_CONTENT_POS = frozenset({"名詞", "動詞", "形容詞", "形状詞"})
_SKIP_SUBPOS = frozenset({"代名詞", "非自立可能"})

_local = threading.local()
_dictionary_lock = threading.Lock()
_dictionary = None


def sudachi_tokenizer() -> tuple[Any, Any]:
    """One Sudachi dictionary per process; one tokenizer per thread (tokenizers are not thread-safe)."""
    global _dictionary
    tok = getattr(_local, "tokenizer", None)
    if tok is None:
        from sudachipy import Dictionary, SplitMode

        with _dictionary_lock:
            if _dictionary is None:
                _dictionary = Dictionary()
        tok = _local.tokenizer = _dictionary.tokenizer(SplitMode.C)
        _local.mode_a = SplitMode.A
    return tok, _local.mode_a


# Sudachi's analysis is quadratic-ish on pathological input; chunk long text at sentence ends.
_CHUNK = 2000
_SENTENCE_END = re.compile(r"(?<=[。．！？!?\n])")


def _chunks(text: str) -> Iterator[str]:
    buf = ""
    for part in _SENTENCE_END.split(text):
        while len(part) > _CHUNK:
            if buf:
                yield buf
                buf = ""
            yield part[:_CHUNK]
            part = part[_CHUNK:]
        if len(buf) + len(part) > _CHUNK:
            yield buf
            buf = ""
        buf += part
    if buf:
        yield buf


# Terms of each dictionary entry, computed once: the part-of-speech check, the
# normalized form and the mode-A split cost more than the tokenization itself,
# and an archive reuses a vocabulary of a few tens of thousands of entries.
_ENTRY_TERMS: dict[object, tuple[str, ...]] = {}
_ENTRY_CACHE_MAX = 500_000


def _entry_terms(m: Any) -> tuple[str, ...]:
    """A content morpheme's normalized form plus, for a compound, its mode-A parts; () for other morphemes."""
    key = m.surface() if m.is_oov() else m.word_id()
    terms = _ENTRY_TERMS.get(key)
    if terms is not None:
        return terms
    terms = ()
    pos = m.part_of_speech()
    form = m.normalized_form()
    if pos[0] in _CONTENT_POS and pos[1] not in _SKIP_SUBPOS and form not in MORPH_STOPWORDS and form.strip():
        parts = m.split(_local.mode_a) if len(m.surface()) > 2 else ()
        terms = (
            (form, *(s for s in (p.normalized_form() for p in parts) if len(s) > 1 and s not in MORPH_STOPWORDS))
            if len(parts) > 1
            else (form,)
        )
    if len(_ENTRY_TERMS) >= _ENTRY_CACHE_MAX:
        _ENTRY_TERMS.clear()
    _ENTRY_TERMS[key] = terms
    return terms


def _content_morphemes(normalized: str) -> Iterator[tuple[Any, tuple[str, ...]]]:
    """(morpheme, its terms) for the content words of already normalized text (Sudachi split mode C)."""
    if not normalized:
        return
    tok, _ = sudachi_tokenizer()
    for chunk in _chunks(normalized):
        for m in tok.tokenize(chunk):
            terms = _entry_terms(m)
            if terms:
                yield m, terms


def morph_terms(normalized: str) -> list[str]:
    """Content-word terms (Sudachi normalized forms) of already normalized text."""
    return [t for _, terms in _content_morphemes(normalized) for t in terms]


def query_views(normalized: str) -> tuple[list[str], list[str]]:
    """Morphological terms and character bigrams of a free-text query, from one Sudachi pass.

    Bigrams are taken inside each content word only: a bigram that straddles two
    words (「市オ」 in 「松戸市オンライン」) is rare, so it would get a high IDF
    while saying nothing about the topic.
    """
    morph: list[str] = []
    grams: list[str] = []
    for m, terms in _content_morphemes(normalized):
        morph.extend(terms)
        grams.extend(b for b in bigram_terms(m.surface()) if len(b) > 1)
    return morph, grams


# ASCII words and numbers stay whole; runs of Japanese script become bigrams.
_RUNS = re.compile(r"[a-z0-9]+(?:[.'][a-z0-9]+)*|[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff々〆ヵヶー]+")


def bigram_terms(normalized: str) -> list[str]:
    """Character bigrams of Japanese runs (a lone character stays a unigram), whole ASCII words."""
    out: list[str] = []
    for m in _RUNS.finditer(normalized):
        run = m.group()
        if run[0] < "\u3040" or len(run) == 1:
            out.append(run)
        else:
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
    return out


# Records are indexed as one value per analysis kind: title, question and answer
# joined by this separator, each section's tokens weighted by its boost. One
# field per kind keeps both indexing and querying cheap on 100,000 records.
SECTION_SEPARATOR = "\x1e"
SECTION_BOOSTS = (3.0, 2.0, 1.0)  # title, question, answer: what was asked counts most


def join_sections(*sections: str) -> str:
    return SECTION_SEPARATOR.join(s.replace(SECTION_SEPARATOR, " ") for s in sections)


class _TermTokenizer(Tokenizer):  # type: ignore[misc]
    """Adapts a term function to Whoosh, weighting each section's tokens (no character offsets: snippets are built separately)."""

    def terms(self, normalized: str) -> list[str]:  # pragma: no cover - overridden
        raise NotImplementedError

    def __call__(
        self,
        value: str,
        positions: bool = False,
        chars: bool = False,
        keeporiginal: bool = False,
        removestops: bool = True,
        start_pos: int = 0,
        start_char: int = 0,
        tokenize: bool = True,
        mode: str = "",
        **kwargs: Any,
    ) -> Iterator[Token]:
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        pos = start_pos
        for i, section in enumerate(value.split(SECTION_SEPARATOR)):
            boost = SECTION_BOOSTS[min(i, len(SECTION_BOOSTS) - 1)]
            for term in self.terms(normalize(section)):
                t.text = term
                t.boost = boost
                t.stopped = False
                if positions:
                    t.pos = pos
                pos += 1
                yield t


class MorphTokenizer(_TermTokenizer):
    def terms(self, normalized: str) -> list[str]:
        return morph_terms(normalized)


class BigramTokenizer(_TermTokenizer):
    def terms(self, normalized: str) -> list[str]:
        return bigram_terms(normalized)
