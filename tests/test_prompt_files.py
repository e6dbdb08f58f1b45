"""prompts/: loaded and validated, with errors that name the file and the field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from councilbot.errors import InvalidInput
from councilbot.services.prompt_files import (
    PROMPT_FILES,
    SHIPPED_PROMPTS,
    load_prompt_dir,
    load_prompts,
    prompts_dir,
)
from councilbot.settings import Settings


@pytest.fixture
def prompt_copy(tmp_path: Path) -> Path:
    for name in PROMPT_FILES:
        shutil.copy(SHIPPED_PROMPTS / name, tmp_path / name)
    return tmp_path


def edit(directory: Path, name: str, old: str, new: str) -> None:
    path = directory / name
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def error_of(directory: Path) -> str:
    with pytest.raises(InvalidInput) as info:
        load_prompt_dir(directory)
    return info.value.message


def test_repository_prompts_load_and_render() -> None:
    prompts = load_prompt_dir(SHIPPED_PROMPTS)
    system = prompts.system_prompt(answerer="教育長")
    assert "教育長が読み上げる" in system
    assert "<!--" not in system and "{{" not in system
    assert "答弁の型（議会答弁スタイルガイド）" in system  # the style guide body is included
    assert "stances:" not in system  # but not its machine-readable front matter
    user = prompts.user_prompt(question="Q本文", sources="S本文")
    assert "<question>\nQ本文\n</question>" in user and "<sources>\nS本文\n</sources>" in user
    assert set(prompts.style.stances) == {"推進", "検討", "慎重"}
    assert len(prompts.hash) == 64


def test_prompts_dir_setting_and_fallback(prompt_copy: Path, tmp_path: Path, monkeypatch) -> None:
    assert prompts_dir(Settings(PROMPTS_DIR=prompt_copy)) == prompt_copy
    # A city that set PROMPTS_DIR relies on its own rules: a wrong path stops, never falls back in silence.
    with pytest.raises(InvalidInput) as err:
        prompts_dir(Settings(PROMPTS_DIR=tmp_path / "missing"))
    assert "PROMPTS_DIR" in err.value.message
    monkeypatch.chdir(tmp_path)  # left at its default and absent here: the repository's rules
    assert prompts_dir(Settings()) == SHIPPED_PROMPTS
    edit(prompt_copy, "rules.yaml", "max_chars: 1200", "max_chars: 900")
    assert load_prompts(Settings(PROMPTS_DIR=prompt_copy)).rules.max_chars == 900


def test_hash_follows_every_file(prompt_copy: Path) -> None:
    before = load_prompt_dir(prompt_copy).hash
    edit(prompt_copy, "style_guide.md", "一文を短く", "一文を簡潔に")
    assert load_prompt_dir(prompt_copy).hash != before


@pytest.mark.parametrize(
    ("name", "old", "new", "expected"),
    [
        (
            "drafting_system.md",
            "{{answerer}}が読み上げる",
            "{{speaker}}が読み上げる",
            ["drafting_system.md", "{{speaker}}", "{{answerer}}"],
        ),
        (
            "drafting_system.md",
            "# 答弁の型\n{{style_guide}}",
            "",
            ["drafting_system.md", "{{style_guide}}", "ありません"],
        ),
        (
            "drafting_user.md",
            "<question>\n{{question}}\n</question>",
            "質問: {{question}}",
            ["drafting_user.md", "<question>"],
        ),
        ("drafting_user.md", "<sources>\n{{sources}}\n</sources>", "", ["drafting_user.md", "{{sources}}"]),
        (
            "rules.yaml",
            'regex: "(?:と|かと)思います"',
            'regex: "(?:と|かと思います"',
            ["rules.yaml", "expressions[3].regex", "正規表現"],
        ),
        ("rules.yaml", "id: RISK-001", "id: BAN-001", ["rules.yaml", "expressions[2].id", "BAN-001", "重複"]),
        (
            "rules.yaml",
            "id: NUM-001\n    severity: warning",
            "id: NUM-001\n    severity: fatal",
            ["checks.unsupported_number.severity", "fatal"],
        ),
        ("rules.yaml", "上限の{max_chars}字", "上限の{limit}字", ["checks.length.message", "{limit}"]),
        ("rules.yaml", "max_chars: 1200", "max_chars: たくさん", ["limits.max_chars", "正の整数"]),
        ("rules.yaml", "category: risky", "category: scary", ["expressions[2].category"]),
        (
            "rules.yaml",
            "    words: [善処します,",
            "    regex: x\n    words: [善処します,",
            ["expressions[2]", "どちらか一方"],
        ),
        ("rules.yaml", "limits:\n  max_chars", "limits:\n max_chars", ["rules.yaml", "行目"]),
        ("style_guide.md", "default_stance: 検討", "default_stance: 前向き", ["style_guide.md", "前向き"]),
        (
            "style_guide.md",
            "{topic}につきましては、課題を整理",
            "{theme}につきましては、課題を整理",
            ["stances.慎重.closing", "{theme}"],
        ),
        ("style_guide.md", "---\n# councilbot", "# councilbot", ["style_guide.md", "---"]),
    ],
)
def test_mistakes_are_reported_by_file_and_field(
    prompt_copy: Path, name: str, old: str, new: str, expected: list[str]
) -> None:
    edit(prompt_copy, name, old, new)
    message = error_of(prompt_copy)
    for part in expected:
        assert part in message


def test_missing_file_is_named(prompt_copy: Path) -> None:
    (prompt_copy / "rules.yaml").unlink()
    assert "rules.yaml" in error_of(prompt_copy) and "見つかりません" in error_of(prompt_copy)
