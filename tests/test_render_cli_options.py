"""Issue 25 item 10: ``batch render`` takes the render options of ``render`` from one
definition (:mod:`v2m_bridge.cli.render_options`), so the same words give the same
:class:`RenderOptions`."""

from __future__ import annotations

import argparse

import pytest

from v2m_bridge.cli import build_parser
from v2m_bridge.cli.render_options import options_fingerprint, render_options_from
from v2m_bridge.errors import V2MError

SCORING = [
    [],
    ["--tempo", "auto"],
    ["--tempo", "auto", "--tempo-map", "--tempo-range", "80:130"],
    ["--tempo-map"],
    ["--harmonic-rhythm", "half", "--key", "D minor", "--primer", "Dm F", "--seed", "7"],
    ["--tempo", "96", "--sampler", "official", "--register", "low", "--no-cut-align",
     "--emotion", "0:tense,4:relaxing"],
]


def option_strings(parser: argparse.ArgumentParser, group_title: str) -> set[str]:
    (group,) = [g for g in parser._action_groups if g.title == group_title]
    return {s for action in group._group_actions for s in action.option_strings}


def subparser(parser: argparse.ArgumentParser, *path: str) -> argparse.ArgumentParser:
    for name in path:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[name]
    return parser


def test_both_commands_list_the_same_music_options():
    parser = build_parser()
    render = option_strings(subparser(parser, "render"), "music")
    batch = option_strings(subparser(parser, "batch", "render"), "music")
    assert {"--tempo", "--tempo-map", "--tempo-range", "--harmonic-rhythm", "--sampler"} <= batch
    assert render - {"--clip-weights"} == batch  # batch has --clip-weights with its analysis


@pytest.mark.parametrize("words", SCORING, ids=lambda w: " ".join(w) or "defaults")
def test_the_same_words_give_the_same_render_options(words):
    parser = build_parser()
    single = parser.parse_args(["render", "v.mp4", "-o", "v.mid", *words])
    batch = parser.parse_args(["batch", "render", "videos", "out", "--hits", *words])
    assert batch.hits is True
    expected = render_options_from(single)
    assert render_options_from(batch) == expected
    assert options_fingerprint(render_options_from(batch)) == options_fingerprint(expected)


def test_the_issue_s_options_reach_render_options():
    parser = build_parser()
    args = parser.parse_args(["batch", "render", "videos", "out", "--tempo", "auto",
                              "--tempo-map", "--harmonic-rhythm", "2bars", "--hits"])
    options = render_options_from(args)
    assert options.tempo_auto and options.tempo_map and options.harmonic_rhythm == "2bars"
    fingerprint = options_fingerprint(options)
    assert fingerprint["tempo_map"] == "True" and fingerprint["harmonic_rhythm"] == "2bars"


def test_bad_values_fail_the_same_way_in_both():
    parser = build_parser()
    for command in (["render", "v.mp4", "-o", "v.mid"], ["batch", "render", "videos", "out"]):
        args = parser.parse_args([*command, "--tempo", "96", "--tempo-map"])
        with pytest.raises(V2MError, match="--tempo-map"):
            render_options_from(args)
