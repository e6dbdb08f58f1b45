"""The Whoosh index behind SearchIndex: matching, filters, bad queries, similar, rebuild, crash safety."""

import datetime as dt

import pytest

from councilbot.search.index import Filters, IndexDoc, WhooshIndex

DOCS = [
    IndexDoc(
        "A-1",
        "避難所の運営について",
        "避難所の運営体制について伺う。",
        "自主防災組織と協力して避難所を運営しております。",
        member="青木 健一",
        faction="市民クラブ",
        department="危機管理課",
        session="令和4年6月定例会",
        answerer="総務部長",
        date=dt.date(2022, 6, 14),
    ),
    IndexDoc(
        "A-2",
        "窓口の問合せ対応について",
        "市役所への問合せが多い手続について伺う。",
        "コールセンターで問い合わせに対応しております。",
        member="山田 太郎",
        faction="新政会",
        department="市民課",
        session="令和6年3月定例会",
        answerer="市民部長",
        date=dt.date(2024, 3, 5),
    ),
    IndexDoc(
        "A-3",
        "ＤＸ推進計画について",
        "ＤＸ推進計画の進捗について伺う。",
        "オンライン申請の拡大など、DXを推進しております。",
        member="青木 健一",
        faction="市民クラブ",
        department="情報政策課",
        session="令和6年3月定例会",
        answerer="市長",
        date=dt.date(2024, 3, 6),
    ),
    IndexDoc(
        "A-4",
        "学校給食費について",
        "学校給食費の無償化について市の見解を伺う。",
        "国の動向を注視してまいります。",
        member="松本 陽子",
        faction="日本共産党",
        department="学校教育課",
        session="令和5年9月定例会",
        answerer="教育長",
        date=dt.date(2023, 9, 1),
    ),
]


@pytest.fixture
def index(tmp_path):
    ix = WhooshIndex(tmp_path / "index")
    ix.rebuild(DOCS)
    return ix


def refs(outcome):
    return [h.ref for h in outcome.hits]


def test_keyword_search_finds_and_ranks(index):
    assert refs(index.search("避難所"))[0] == "A-1"
    assert refs(index.search("DX"))[0] == "A-3"
    assert refs(index.search("ＤＸ"))[0] == "A-3"


def test_variant_spelling_matches(index):
    assert "A-2" in refs(index.search("問い合わせ"))


@pytest.mark.parametrize(
    "query", ['"', "::", "(((", "a:b OR (", "*", "市", "", " ", "あ" * 10_000, "避難所 AND", "\x00\x1e"]
)
def test_no_query_breaks_the_search(index, query):
    index.search(query)  # must not raise
    index.similar(query)


def test_one_character_query_matches(index):
    assert refs(index.search("窓"))[0] == "A-2"


def test_filters_match_part_of_a_name(index):
    assert set(refs(index.search("について", filters=Filters(member="青木")))) <= {"A-1", "A-3"}
    assert refs(index.search("推進", filters=Filters(member="青木健一", year=2024))) == ["A-3"]
    assert refs(index.search("避難所", filters=Filters(department="学校"))) == []
    assert refs(index.search("", filters=Filters(answerer="教育長"))) == ["A-4"]
    assert refs(index.search("", filters=Filters(session="令和6年3月"))) == ["A-3", "A-2"]  # newest first


def test_newest_first_orders_by_date(index):
    assert refs(index.search("について", newest_first=True))[:2] == ["A-3", "A-2"]


def test_stock_phrases_do_not_drown_content(index):
    long_question = "市の見解を伺う。" * 20 + "学校給食費の無償化について、いかがか。" + "考えを伺う。" * 20
    assert refs(index.similar(long_question))[0] == "A-4"


def test_similar_excludes_refs(index):
    assert "A-1" not in refs(index.similar("避難所の運営", exclude_refs=["A-1"]))


def test_update_replaces_and_delete_removes(index):
    index.update([IndexDoc("A-1", "防犯カメラ", "防犯カメラの設置", "設置します。")])
    assert index.count() == 4
    assert refs(index.search("避難所")) == []
    assert refs(index.search("防犯カメラ")) == ["A-1"]
    index.delete(["A-1"])
    assert index.count() == 3


def test_rebuild_swaps_generations_and_a_failed_rebuild_keeps_the_old_index(index):
    def broken():
        yield DOCS[0]
        raise RuntimeError("crash while indexing")

    with pytest.raises(RuntimeError):
        index.rebuild(broken())
    assert index.count() == 4
    assert refs(index.search("給食"))[0] == "A-4"
    assert len(list(index.dir.glob("gen-*"))) == 1
    index.rebuild(DOCS[:2])
    assert index.count() == 2


def test_every_word_must_match_unless_no_record_has_them_all(index):
    assert refs(index.search("避難所 運営")) == ["A-1"]
    assert refs(index.search("避難所 ドローン"))[0] == "A-1"  # no record has both: any word counts
    assert refs(index.search("ドローン")) == []


def test_text_phrased_as_a_question_is_ranked_as_a_question(index):
    # As keywords, this one long word is in no record; as a question its content words find A-1.
    assert refs(index.search("避難所とドローンについて伺う。"))[0] == "A-1"


def test_scores_span_segments_and_skip_deleted_records(tmp_path):
    ix = WhooshIndex(tmp_path / "index")
    ix.update(DOCS[:2])
    ix.update(DOCS[2:])  # a second segment
    assert refs(ix.search("について", limit=10)) and ix.count() == 4
    assert refs(ix.search("給食"))[0] == "A-4"
    ix.delete(["A-4"])
    assert "A-4" not in refs(ix.search("給食")) + refs(ix.similar("学校給食費の無償化"))
    assert refs(ix.search("避難所"))[0] == "A-1"


def test_a_rebuild_larger_than_the_posting_pool_spills_and_every_record_is_searchable(tmp_path, monkeypatch):
    import councilbot.search.index as index_module

    monkeypatch.setattr(index_module, "POOL_MB", 0.01)  # a few postings per run: the merge path runs
    ix = WhooshIndex(tmp_path / "index")
    assert ix.rebuild(DOCS) == 4
    assert ix.count() == 4
    assert refs(ix.search("給食"))[0] == "A-4" and refs(ix.search("避難所"))[0] == "A-1"
    assert ix.update([IndexDoc(f"B-{i}", "防犯カメラ", "防犯カメラの設置", "設置します。") for i in range(5)]) == 5
    assert ix.count() == 9
    assert len(refs(ix.search("防犯カメラ"))) == 5


def test_writes_replace_by_ref_so_a_ref_is_never_held_twice(tmp_path):
    ix = WhooshIndex(tmp_path / "index")
    ix.rebuild(DOCS)
    # An index from an older version that wrote some refs twice: any later write of the ref heals it.
    raw = ix._open_for_write().writer()
    raw.add_document(**index_module_doc(DOCS[0]))
    raw.commit()
    assert ix.count() == 5
    changed = IndexDoc("A-1", "避難所の備蓄について", "避難所の備蓄について伺う。", "備蓄を拡充しております。")
    ix.update([changed, DOCS[1], DOCS[1]])
    ix.update([changed])
    assert ix.count() == 4
    assert refs(ix.search("備蓄")) == ["A-1"] and refs(ix.search("自主防災組織")) == []
    ix.sync([("A-2", None), ("A-9", None)])
    assert ix.count() == 3


def index_module_doc(doc):
    """The fields Whoosh's own writer takes for ``doc`` (text fields as text, analysed by the schema)."""
    from councilbot.search.analysis import join_sections
    from councilbot.search.index import BIGRAM, MORPH, _analysed

    plain, _ = _analysed(doc)
    text = join_sections(doc.title, doc.question, doc.answer)
    return {**plain, MORPH: text, BIGRAM: text}


def test_index_files_are_readable_by_their_owner_only(tmp_path):
    import os
    import stat

    previous = os.umask(0o022)
    try:
        ix = WhooshIndex(tmp_path / "index")
        ix.rebuild(DOCS)
        ix.update(DOCS[:1])
    finally:
        os.umask(previous)
    paths = [tmp_path / "index", *(tmp_path / "index").rglob("*")]
    assert len(paths) > 5
    assert {p.name: stat.filemode(p.stat().st_mode) for p in paths if p.stat().st_mode & 0o077} == {}


def test_character_view_matches_words_the_word_view_drops(index):
    index.update(
        [
            IndexDoc(
                "A-5", "電子申請について", "いつでもどこでも使える電子申請について伺う。", "24時間受け付けております。"
            )
        ]
    )
    outcome = index.similar("いつでもどこでも", characters=True)
    assert refs(outcome)[0] == "A-5"
    assert outcome.terms.morph == () and "どこ" in outcome.terms.bigrams


def _segment_contents(ix):
    """Every term of a Whoosh index with its statistics and postings (document, weight, value)."""
    with ix.searcher() as searcher:
        reader = searcher.reader()
        out = {}
        for fieldname, term in reader.all_terms():
            info = reader.term_info(fieldname, term)
            matcher = reader.postings(fieldname, term)
            postings = []
            while matcher.is_active():
                postings.append((matcher.id(), matcher.weight(), matcher.value()))
                matcher.next()
            stats = (info.weight(), info.doc_frequency(), info.max_weight(), info.min_length(), info.max_length())
            out[fieldname, term] = (stats, postings)
        stored = [reader.stored_fields(d) for d in range(reader.doc_count_all())]
        return out, stored


@pytest.mark.parametrize("pool_mb", [64, 0.01])
def test_the_pooled_writer_writes_what_whooshs_own_writer_writes(tmp_path, monkeypatch, pool_mb):
    """Same terms, statistics, postings and stored fields, whether the pool spills to disk or not."""
    import councilbot.search.index as index_module

    monkeypatch.setattr(index_module, "POOL_MB", pool_mb)
    docs = [
        *DOCS,
        *(
            IndexDoc(f"B-{i}", f"防犯カメラ{i}", "防犯カメラの設置について伺う。" * i, "設置します。")
            for i in range(1, 6)
        ),
    ]
    pooled = WhooshIndex(tmp_path / "pooled")
    pooled.rebuild(docs)
    own = WhooshIndex(tmp_path / "own")
    own.rebuild([])
    writer = own._open_for_write().writer()
    for doc in docs:
        writer.add_document(**index_module_doc(doc))
    writer.commit()
    theirs, theirs_stored = _segment_contents(own._open_for_write())
    ours, ours_stored = _segment_contents(pooled._open_for_write())
    assert len(ours) > 100
    assert any(len(postings) > 5 and len({w for _, w, _ in postings}) > 1 for _, postings in ours.values())
    assert ours == theirs
    assert ours_stored == theirs_stored
