"""prompts/: the drafting prompt, the style guide and the rule list, as files a clerk edits.

Everything is validated on load. A mistake is reported in Japanese with the file
and the field (``rules.yaml の expressions[2].regex …``) so that whoever edited
the file can fix it without reading code.

Templates use named placeholders ``{{name}}``; unknown names and missing required
ones are errors, and the user template must keep ``{{question}}`` inside
``<question>…</question>`` and ``{{sources}}`` inside ``<sources>…</sources>``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from string import Formatter
from typing import Any

import yaml

from councilbot.domain.drafting import Stance, StyleGuide
from councilbot.domain.guard import BUILTIN_PATTERNS, GuardPolicy, PiiPattern, builtin_pattern
from councilbot.domain.rulecheck import (
    CHECK_PLACEHOLDERS,
    DEFAULT_CHECKS,
    EXPRESSION_CATEGORIES,
    SEVERITIES,
    CheckSpec,
    ExpressionRule,
    RuleBook,
)
from councilbot.errors import InvalidInput
from councilbot.settings import Settings

SYSTEM_FILE = "drafting_system.md"
USER_FILE = "drafting_user.md"
STYLE_FILE = "style_guide.md"
RULES_FILE = "rules.yaml"
PROMPT_FILES = (SYSTEM_FILE, USER_FILE, STYLE_FILE, RULES_FILE)

SYSTEM_PLACEHOLDERS = frozenset({"style_guide", "answerer", "max_chars", "max_speaking_minutes", "chars_per_minute"})
USER_PLACEHOLDERS = frozenset({"question", "sources", "title", "member", "session", "answerer", "department"})
_REQUIRED = {SYSTEM_FILE: ("style_guide",), USER_FILE: ("question", "sources")}
# Data placeholders and the tags that must enclose them.
_DELIMITED = {"question": "question", "sources": "sources"}
STYLE_PLACEHOLDERS = frozenset({"topic", "member", "answerer"})

_PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_COMMENT = re.compile(r"<!--.*?-->\s*", re.DOTALL)
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)

# The defaults, shipped inside the package (package data), so an installed councilbot drafts
# without a checkout; a city's edited copy lives where PROMPTS_DIR points.
SHIPPED_PROMPTS = Path(__file__).resolve().parents[1] / "prompts"


class PromptFileError(InvalidInput):
    """A file under prompts/ that cannot be used as written."""

    def __init__(self, file: str, problem: str) -> None:
        super().__init__(f"prompts/{file} に誤りがあります: {problem}")


@dataclass(frozen=True)
class PromptSet:
    directory: Path
    system_template: str
    user_template: str
    style: StyleGuide
    rules: RuleBook
    guard: GuardPolicy
    hash: str  # sha256 of the four files: which version of the city's rules made a draft

    def system_prompt(self, *, answerer: str, style_body: str | None = None) -> str:
        """The system message; ``style_body`` replaces the guide's text when it had to be cut to fit."""
        return render(
            self.system_template, self._system_values(answerer, self.style.body if style_body is None else style_body)
        )

    def instructions(self, *, answerer: str) -> str:
        """The system prompt without the style guide: text no answer may repeat."""
        return render(self.system_template, self._system_values(answerer, ""))

    def _system_values(self, answerer: str, style_guide: str) -> dict[str, str]:
        return {
            "style_guide": style_guide,
            "answerer": answerer,
            "max_chars": str(self.rules.max_chars),
            "max_speaking_minutes": f"{self.rules.max_speaking_minutes:g}",
            "chars_per_minute": str(self.rules.chars_per_minute),
        }

    def user_prompt(self, **values: str) -> str:
        return render(self.user_template, values)


def render(template: str, values: Mapping[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), template)


def prompts_dir(settings: Settings) -> Path:
    """``PROMPTS_DIR`` when it exists; the shipped defaults when it was left at its default
    (``prompts/`` in the working directory) and no such folder is there.

    A city that set PROMPTS_DIR relies on its own rules (its watch list, its markers):
    a mistyped path must stop drafting, not fall back to the shipped rules in silence.
    """
    configured = Path(settings.prompts_dir)
    if configured.is_dir():
        return configured
    if "prompts_dir" in settings.model_fields_set:
        raise InvalidInput(
            f"PROMPTS_DIR に指定されたフォルダ「{configured}」が見つかりません。設定を確かめてください（市のルールを読めないため下書きを中止しました）。"
        )
    return SHIPPED_PROMPTS


def load_prompts(settings: Settings) -> PromptSet:
    return load_prompt_dir(prompts_dir(settings))


def load_prompt_dir(directory: Path) -> PromptSet:
    raw = {name: _read(directory, name) for name in PROMPT_FILES}
    rules = _rules_yaml(raw[RULES_FILE])
    digest = hashlib.sha256()
    for name in PROMPT_FILES:
        digest.update(name.encode() + b"\0" + raw[name].encode("utf-8") + b"\0")
    return PromptSet(
        directory=directory,
        system_template=_template(SYSTEM_FILE, raw[SYSTEM_FILE], SYSTEM_PLACEHOLDERS),
        user_template=_template(USER_FILE, raw[USER_FILE], USER_PLACEHOLDERS),
        style=_style_guide(raw[STYLE_FILE]),
        rules=_rule_book(rules),
        guard=_guard_policy(rules),
        hash=digest.hexdigest(),
    )


def _read(directory: Path, name: str) -> str:
    path = directory / name
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PromptFileError(name, f"ファイルが見つかりません（{path}）。") from None
    except UnicodeDecodeError:
        raise PromptFileError(name, "文字コードを UTF-8 にして保存してください。") from None


def _template(name: str, text: str, allowed: frozenset[str]) -> str:
    body = _COMMENT.sub("", text).strip() + "\n"
    used = _PLACEHOLDER.findall(body)
    unknown = sorted(set(used) - allowed)
    if unknown:
        names = "、".join(f"{{{{{u}}}}}" for u in unknown)
        usable = "、".join(f"{{{{{a}}}}}" for a in sorted(allowed))
        raise PromptFileError(name, f"使えない差し込み項目 {names} があります。使えるのは {usable} です。")
    for required in _REQUIRED[name]:
        if required not in used:
            raise PromptFileError(name, f"差し込み項目 {{{{{required}}}}} がありません。")
        tag = _DELIMITED.get(required)
        if tag and not re.search(rf"<{tag}>\s*\{{\{{\s*{required}\s*\}}\}}\s*</{tag}>", body):
            raise PromptFileError(
                name,
                f"{{{{{required}}}}} は <{tag}> と </{tag}> で囲んでください（質問や資料を指示と区別するためです）。",
            )
    return body


def _rules_yaml(text: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{mark.line + 1}行目付近" if mark is not None else "どこか"
        raise PromptFileError(
            RULES_FILE, f"YAML として読めません（{where}）。字下げや「:」を確認してください。"
        ) from None
    if not isinstance(data, dict):
        raise PromptFileError(RULES_FILE, "項目名: 値 の形で書いてください。")
    return data


class _Fields:
    """Typed access to one mapping of a prompt file, with errors naming the field."""

    def __init__(self, file: str, path: str, data: object) -> None:
        if not isinstance(data, dict):
            raise PromptFileError(file, f"{path or '全体'} は「項目名: 値」の形で書いてください。")
        self.file, self.path, self.data = file, path, data

    def _where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def _fail(self, key: str, problem: str) -> PromptFileError:
        return PromptFileError(self.file, f"{self._where(key)} {problem}")

    def get(self, key: str, default: object = ...) -> object:
        if key not in self.data:
            if default is ...:
                raise self._fail(key, "がありません。")
            return default
        return self.data[key]

    def text(self, key: str, *, placeholders: frozenset[str] | None = None) -> str:
        value = self.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self._fail(key, "には文字列を書いてください。")
        if placeholders is not None:
            self._check_placeholders(key, value, placeholders)
        return value.strip()

    def number(self, key: str, *, integer: bool = False) -> float:
        value = self.get(key)
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or (integer and not isinstance(value, int))
            or value <= 0
        ):
            kind = "正の整数" if integer else "正の数"
            raise self._fail(key, f"には{kind}を書いてください（いまは「{value}」）。")
        return value

    def strings(self, key: str, *, default: object = ...) -> tuple[str, ...]:
        value = self.get(key, default)
        if not isinstance(value, list) or not all(isinstance(v, (str, int)) and str(v).strip() for v in value):
            raise self._fail(key, "には文字列の一覧（- で始まる行、または [a, b]）を書いてください。")
        return tuple(str(v).strip() for v in value)

    def mapping(self, key: str) -> _Fields:
        return _Fields(self.file, self._where(key), self.get(key))

    def items(self, key: str) -> list[_Fields]:
        value = self.get(key)
        if not isinstance(value, list) or not value:
            raise self._fail(key, "には1件以上の一覧を書いてください。")
        return [_Fields(self.file, f"{self._where(key)}[{i}]", v) for i, v in enumerate(value)]

    def regex(self, key: str) -> re.Pattern[str]:
        source = self.text(key)
        try:
            return re.compile(source)
        except re.error as exc:
            raise self._fail(
                key, f"は正規表現として正しくありません（{exc.msg}、{(exc.pos or 0) + 1}文字目付近）。"
            ) from None

    def severity(self) -> str:
        value = self.text("severity")
        if value not in SEVERITIES:
            raise self._fail("severity", f"は {' / '.join(SEVERITIES)} のいずれかにしてください（いまは「{value}」）。")
        return value

    def _check_placeholders(self, key: str, value: str, allowed: frozenset[str]) -> None:
        try:
            names = {field for _, field, _, _ in Formatter().parse(value) if field is not None}
        except ValueError:
            raise self._fail(key, "の { } の対応が崩れています。") from None
        unknown = sorted(names - allowed)
        if unknown:
            usable = "、".join(f"{{{a}}}" for a in sorted(allowed)) or "なし"
            raise self._fail(key, f"で使えない差し込み項目 {{{unknown[0]}}} があります（使えるもの: {usable}）。")


def _rule_book(data: dict[str, Any]) -> RuleBook:
    root = _Fields(RULES_FILE, "", data)
    limits = root.mapping("limits")
    checks_fields = root.mapping("checks")
    checks = {}
    for name, placeholders in CHECK_PLACEHOLDERS.items():
        if name not in checks_fields.data and name in DEFAULT_CHECKS:
            checks[name] = CheckSpec(*DEFAULT_CHECKS[name])
            continue
        spec = checks_fields.mapping(name)
        checks[name] = CheckSpec(spec.text("id"), spec.severity(), spec.text("message", placeholders=placeholders))

    expressions = []
    seen = {c.id: f"checks.{n}" for n, c in checks.items()}
    for item in root.items("expressions"):
        rule_id = item.text("id")
        if rule_id in seen:
            raise PromptFileError(RULES_FILE, f"{item.path}.id「{rule_id}」は {seen[rule_id]} と重複しています。")
        seen[rule_id] = item.path
        category = item.text("category")
        if category not in EXPRESSION_CATEGORIES:
            raise PromptFileError(
                RULES_FILE, f"{item.path}.category は {' / '.join(EXPRESSION_CATEGORIES)} のいずれかにしてください。"
            )
        has_words, has_regex = "words" in item.data, "regex" in item.data
        if has_words == has_regex:
            raise PromptFileError(RULES_FILE, f"{item.path} には words か regex のどちらか一方を書いてください。")
        pattern = (
            item.regex("regex")
            if has_regex
            else re.compile("|".join(re.escape(w) for w in sorted(item.strings("words"), key=len, reverse=True)))
        )
        expressions.append(ExpressionRule(rule_id, category, item.severity(), item.text("message"), pattern))

    return RuleBook(
        max_chars=int(limits.number("max_chars", integer=True)),
        chars_per_minute=int(limits.number("chars_per_minute", integer=True)),
        max_speaking_minutes=limits.number("max_speaking_minutes"),
        polite_endings=root.mapping("register").strings("polite_endings"),
        number_ignore_suffixes=root.mapping("numbers").strings("ignore_suffixes", default=[]),
        checks=checks,
        expressions=tuple(expressions),
    )


def _guard_policy(data: dict[str, Any]) -> GuardPolicy:
    root = _Fields(RULES_FILE, "", data)
    patterns = []
    kinds: set[str] = set()
    for item in root.items("personal_information"):
        kind = item.text("kind")
        if kind in kinds:
            raise PromptFileError(RULES_FILE, f"{item.path}.kind「{kind}」が重複しています。")
        kinds.add(kind)
        patterns.append(PiiPattern(kind, item.text("label"), item.text("replacement"), _pii_regex(item)))
    return GuardPolicy(
        confidentiality_markers=root.strings("confidentiality_markers"),
        pii=tuple(patterns),
        watch_list=root.strings("watch_list", default=[]),
        keep_suffixes=root.strings("keep_suffixes", default=[]),
    )


def _pii_regex(item: _Fields) -> re.Pattern[str]:
    """``regex``, or ``builtin`` naming a pattern the guard provides (japanese_address)."""
    if ("regex" in item.data) == ("builtin" in item.data):
        raise PromptFileError(RULES_FILE, f"{item.path} には regex か builtin のどちらか一方を書いてください。")
    if "regex" in item.data:
        return item.regex("regex")
    name = item.text("builtin")
    if name not in BUILTIN_PATTERNS:
        usable = "、".join(BUILTIN_PATTERNS)
        raise PromptFileError(RULES_FILE, f"{item.path}.builtin「{name}」はありません（使えるもの: {usable}）。")
    return builtin_pattern(name)


def _style_guide(text: str) -> StyleGuide:
    match = _FRONT_MATTER.match(text)
    if not match:
        raise PromptFileError(STYLE_FILE, "先頭に「---」で囲んだ設定部分（opening、stances など）がありません。")
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        raise PromptFileError(STYLE_FILE, "先頭の設定部分（--- と --- の間）が YAML として読めません。") from None
    root = _Fields(STYLE_FILE, "", data)
    stances_fields = root.mapping("stances")
    stances = {}
    for name in stances_fields.data:
        item = stances_fields.mapping(str(name))
        stances[str(name)] = Stance(
            name=str(name),
            meaning=item.text("meaning"),
            cues=item.strings("cues"),
            closing=item.text("closing", placeholders=STYLE_PLACEHOLDERS),
        )
    if not stances:
        raise PromptFileError(STYLE_FILE, "stances に段階（推進・検討・慎重など）を1つ以上書いてください。")
    default = root.text("default_stance")
    if default not in stances:
        raise PromptFileError(STYLE_FILE, f"default_stance「{default}」が stances にありません。")
    body = text[match.end() :].strip()
    if not body:
        raise PromptFileError(STYLE_FILE, "設定部分の後に、答弁の型の説明（モデルに渡す本文）を書いてください。")
    return StyleGuide(
        body=body,
        opening=root.text("opening", placeholders=STYLE_PLACEHOLDERS),
        opening_without_member=root.text("opening_without_member", placeholders=STYLE_PLACEHOLDERS),
        recognition=root.text("recognition", placeholders=STYLE_PLACEHOLDERS),
        missing_current_state=root.text("missing_current_state", placeholders=STYLE_PLACEHOLDERS),
        challenge_markers=root.strings("challenge_markers"),
        default_stance=default,
        stances=stances,
    )
