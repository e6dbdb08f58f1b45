"""Japanese analysis: normalisation, variants, short terms, stock phrases."""

from councilbot.search.analysis import (
    MorphTokenizer,
    bigram_terms,
    join_sections,
    morph_terms,
    normalize,
    query_views,
    strip_stock_phrases,
)


def test_nfkc_makes_full_width_and_half_width_equal():
    assert normalize("ＤＸ推進　ｶﾞｲﾄﾞ") == normalize("DX推進 ガイド") == "dx推進 ガイド"


def test_sudachi_normalized_forms_unify_spelling_variants():
    assert "問い合わせ" in morph_terms(normalize("問合せ"))
    assert "問い合わせ" in morph_terms(normalize("問い合わせ"))


def test_compounds_also_yield_their_parts():
    terms = morph_terms(normalize("マイナンバーカードの普及"))
    assert {"マイナンバーカード", "マイナンバー", "カード", "普及"} <= set(terms)


def test_bigrams_keep_short_terms_and_ascii_words():
    assert bigram_terms(normalize("避難所")) == ["避難", "難所"]
    assert bigram_terms(normalize("市")) == ["市"]
    assert bigram_terms(normalize("ＡＩ活用")) == ["ai", "活用"]


def test_stock_phrases_are_removed_but_content_words_stay():
    text = normalize("学校給食費の無償化について、市の見解を伺う。いかがか。")
    stripped = strip_stock_phrases(text)
    assert "学校給食費の無償化" in stripped
    for phrase in ("伺う", "見解", "いかが", "について"):
        assert phrase not in stripped
    # 「都市」 is a content word, not the stock 「市の」
    assert "都市" in strip_stock_phrases(normalize("都市の計画について伺う"))


def test_stock_words_do_not_become_morph_terms():
    assert morph_terms(normalize("市長の所見を伺う")) == []


def test_section_tokens_carry_title_and_question_boosts():
    tokens = [(t.text, t.boost) for t in MorphTokenizer()(join_sections("避難所", "備蓄", "訓練"))]
    assert ("避難", 3.0) in tokens and ("備蓄", 2.0) in tokens and ("訓練", 1.0) in tokens


def test_query_bigrams_stay_inside_words():
    morph, grams = query_views(normalize("松戸市オンライン申請システムについて伺う"))
    assert "オンライン" in morph and "システム" in morph
    assert "申請" in grams and "シス" in grams
    assert "市オ" not in grams and "請シ" not in grams  # straddling two words
    assert not any(g in grams for g in ("つい", "伺う"))  # function words give no bigrams
