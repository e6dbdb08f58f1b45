"""Approval chains (答弁検討の順序): which positions stamp an answer, in order.

The chain depends on who gives the answer: a 部長's answer needs 課長 then 部長;
the mayor's needs 課長, 部長 and 市長. Cities configure their own in the
organisation file; these defaults apply where they do not.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass

from councilbot.domain.japanese import nfkc
from councilbot.errors import InvalidInput

EXECUTIVES = ("市長", "副市長", "教育長")

DEFAULT_CHAINS: dict[str, tuple[str, ...]] = {
    "市長": ("課長", "部長", "市長"),
    "副市長": ("課長", "部長", "副市長"),
    "教育長": ("課長", "部長", "教育長"),
    "部長": ("課長", "部長"),
}

# Positions that can stamp an answer, lowest first: a chain climbs this ladder and never steps back.
# A secretary (秘書) acts in the executive's stage and is not a stage of their own.
STAGE_LADDER = ("係長", "課長", "部長", "教育長", "副市長", "市長")


def chain_problem(stages: object) -> str | None:
    """Why ``stages`` cannot be an approval chain (a Japanese predicate), or None when it can.

    A chain is a non-empty list of stamping positions, each higher than the one
    before: a repeated, reversed or cyclic chain would send an answer back to
    someone who has already approved it.
    """
    if not isinstance(stages, list) or not stages:
        return "は役職名の並び（例: [課長, 部長, 市長]）にしてください。"
    unknown = [s for s in stages if not isinstance(s, str) or s not in STAGE_LADDER]
    if unknown:
        return f"の「{unknown[0]}」は決裁する役職ではありません（{'、'.join(STAGE_LADDER)}から選んでください）。"
    repeated = next((s for i, s in enumerate(stages) if s in stages[:i]), None)
    if repeated:
        return f"で「{repeated}」が二度出てきます。同じ役職は一度だけ書いてください。"
    for lower, higher in itertools.pairwise(stages):
        if STAGE_LADDER.index(higher) < STAGE_LADDER.index(lower):
            return f"で「{higher}」が「{lower}」の後にあります。下位の役職から順に書いてください。"
    return None


@dataclass(frozen=True)
class ApprovalChain:
    answerer_kind: str
    stages: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.stages:
            raise InvalidInput(f"答弁者「{self.answerer_kind}」の決裁順序が空です。")

    def stage(self, index: int | None) -> str | None:
        return None if index is None else self.stages[index]


def answerer_kind(answerer: str | None) -> str:
    """「総務部長」→「部長」; 市長, 副市長 and 教育長 stand for themselves."""
    text = nfkc(answerer)
    if not text:
        raise InvalidInput("答弁者が決まっていません。担当決定のときに答弁者を指定してください。")
    if text in EXECUTIVES:
        return text
    if text.endswith(("部長", "局長", "室長")):
        return "部長"
    return text


def chain_for(
    answerer: str | None, configured: Mapping[str, tuple[str, ...] | list[str]] | None = None
) -> ApprovalChain:
    kind = answerer_kind(answerer)
    chains = {**DEFAULT_CHAINS, **{k: tuple(v) for k, v in (configured or {}).items()}}
    if kind not in chains:
        raise InvalidInput(
            f"答弁者「{answerer}」の決裁順序が設定されていません。組織ファイルの chains に追加してください。"
        )
    return ApprovalChain(kind, tuple(chains[kind]))
