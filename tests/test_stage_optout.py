"""OptOutChecker: TDMRep (file, header, meta, their priority), robots.txt for AI agents, X-Robots-Tag noai."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from pipelines.stages import build_stage
from pipelines.stages.optout import (
    OPTOUT_EVIDENCE,
    OptOutChecker,
    TdmRepFile,
    meta_tags,
    robots_directives,
)
from schemas.config import OPTOUT_AGENTS, ConfigError, parse_config
from schemas.document import CONTENT_TYPE, REASON, STATUS, Status
from tests.conftest import make_doc

URL = "https://news.example/articles/2024/bridge"
TEXT = "<p>The bridge reopened on Monday after two years of works on its foundations.</p>"


def page(meta: str = "", body: str = TEXT) -> str:
    head = f'<meta charset="utf-8">{meta}<title>T</title>'
    return f'<!DOCTYPE html><html lang="en"><head>{head}</head><body>{body}</body></html>'


def web_doc(html: str | None = None, url: str = URL, headers: dict[str, str] | None = None, **metadata):
    headers = {"content-type": "text/html; charset=utf-8", **(headers or {})}
    return make_doc(
        page() if html is None else html, content_type="html", url=url, http_headers=headers, **metadata
    )


def run(stage: OptOutChecker, *docs):
    return list(stage.run(iter(docs)))


def fate(doc) -> tuple[str, str | None]:
    return doc.metadata[STATUS], doc.metadata.get(REASON)


@pytest.fixture
def policies(tmp_path: Path) -> Path:
    """``tdmrep/`` and ``robots/`` folders with files for news.example and shop.example."""
    (tmp_path / "tdmrep").mkdir()
    (tmp_path / "robots").mkdir()
    rules = [
        {"location": "/articles/2024/open-*", "tdm-reservation": 0},
        {"location": "/articles/", "tdm-reservation": 1, "tdm-policy": "https://news.example/policy.json"},
        {"location": "/free/*.html$", "tdm-reservation": 0},
        {"location": "/", "tdm-reservation": "maybe"},
    ]
    (tmp_path / "tdmrep" / "news.example.json").write_text(json.dumps(rules))
    (tmp_path / "tdmrep" / "broken.example.json").write_text("{not json")
    (tmp_path / "robots" / "shop.example.txt").write_text(
        "User-agent: GPTBot\nDisallow: /\n\n"
        "User-agent: CCBot\nDisallow: /private/\n\n"
        "User-agent: *\nAllow: /\n"
    )
    (tmp_path / "robots" / "closed.example.txt").write_text("User-agent: *\nDisallow: /\n")
    return tmp_path


# ---------------------------------------------------------------- TDMRep, one source at a time


def test_http_header_reservation_filters_with_evidence() -> None:
    headers = {"tdm-reservation": "1", "tdm-policy": "https://news.example/tdm.json"}
    (doc,) = run(OptOutChecker(), web_doc(headers=headers))
    assert fate(doc) == (Status.FILTERED, "optout:tdmrep")
    assert doc.metadata[OPTOUT_EVIDENCE] == {
        "signal": "tdm-reservation",
        "value": "1",
        "source": "http-header",
        "agent": None,
        "policy": "https://news.example/tdm.json",
        "location": None,
    }


def test_header_names_are_case_insensitive() -> None:
    (doc,) = run(OptOutChecker(), web_doc(headers={"TDM-Reservation": " 1 "}))
    assert fate(doc) == (Status.FILTERED, "optout:tdmrep")


def test_html_meta_reservation_filters_with_evidence() -> None:
    meta = '<meta name="tdm-reservation" content="1"><meta name="TDM-Policy" content="https://n.example/p">'
    (doc,) = run(OptOutChecker(), web_doc(page(meta)))
    assert fate(doc) == (Status.FILTERED, "optout:tdmrep")
    evidence = doc.metadata[OPTOUT_EVIDENCE]
    assert (evidence["source"], evidence["value"], evidence["policy"]) == (
        "html-meta",
        "1",
        "https://n.example/p",
    )


def test_meta_in_an_html_document_without_http_headers() -> None:
    doc = make_doc(page("<meta content='1' name='tdm-reservation'>"), content_type="html", url=URL)
    (doc,) = run(OptOutChecker(), doc)
    assert fate(doc) == (Status.FILTERED, "optout:tdmrep")


@pytest.mark.parametrize(
    "meta",
    [
        '<meta name="tdm-reservation" content="0">',
        '<meta name="tdm-reservation" content="2">',  # protocol error: unset
        '<meta name="tdm-reservation" content="yes">',
        '<meta name="description" content="tdm-reservation 1">',
        "",
    ],
)
def test_no_reservation_keeps_the_page(meta: str) -> None:
    (doc,) = run(OptOutChecker(), web_doc(page(meta)))
    assert fate(doc) == (Status.KEPT, None)
    assert OPTOUT_EVIDENCE not in doc.metadata


def test_meta_tags_in_the_body_do_not_count() -> None:
    html = page(body=f'{TEXT}<p>Example: &lt;meta&gt;</p><meta name="tdm-reservation" content="1">')
    assert "tdm-reservation" not in meta_tags(html)
    (doc,) = run(OptOutChecker(), web_doc(html))
    assert fate(doc) == (Status.KEPT, None)


def test_tdmrep_file_patterns_first_match_wins(policies: Path) -> None:
    stage = OptOutChecker(tdmrep_dir=str(policies / "tdmrep"))
    urls = {
        "https://news.example/articles/2024/open-data-day": (Status.KEPT, None),  # rule 1: 0
        "https://news.example/articles/2024/bridge": (Status.FILTERED, "optout:tdmrep"),  # rule 2: 1
        "https://NEWS.example:8443/articles/x?page=2": (Status.FILTERED, "optout:tdmrep"),  # host lower-cased
        "https://news.example/%61rticles/y": (Status.FILTERED, "optout:tdmrep"),  # %61 = unreserved "a"
        "https://news.example/free/a/b.html": (Status.KEPT, None),  # rule 3 ("$" end): 0
        "https://news.example/free/a/b.html?x=1": (Status.KEPT, None),  # rule 4: invalid value = unset
        "https://news.example/about": (Status.KEPT, None),  # rule 4
        "https://other.example/articles/2024/bridge": (Status.KEPT, None),  # no file: no reservation
        "https://broken.example/articles/": (Status.KEPT, None),  # unparsable file: as if absent
    }
    docs = run(stage, *(web_doc(url=url) for url in urls))
    assert {d.metadata["url"]: fate(d) for d in docs} == urls
    evidence = docs[1].metadata[OPTOUT_EVIDENCE]
    assert evidence == {
        "signal": "tdm-reservation",
        "value": "1",
        "source": "well-known",
        "agent": None,
        "policy": "https://news.example/policy.json",
        "location": "/articles/",
    }


def test_tdmrep_file_parsing() -> None:
    assert TdmRepFile.parse('{"location": "/"}') is None  # not an array
    rules = TdmRepFile.parse('[{"location": "/a*b$", "tdm-reservation": 1}, {"tdm-reservation": 1}]')
    assert rules is not None and len(rules.rules) == 1  # a rule without location is ignored
    assert rules.match("https://h.example/a/x/b") == ("/a*b$", "1", None)
    assert rules.match("https://h.example/a/x/bc") is None


# ---------------------------------------------------------------- TDMRep priority: file < header < meta


@pytest.mark.parametrize(
    ("url", "header", "meta", "expected", "source"),
    [
        # tdmrep.json says 0 for /articles/2024/open-*, the header says 1: the header supersedes the file
        (
            "https://news.example/articles/2024/open-day",
            "1",
            None,
            (Status.FILTERED, "optout:tdmrep"),
            "http-header",
        ),
        # tdmrep.json says 1, the header says 0: not reserved
        ("https://news.example/articles/2024/bridge", "0", None, (Status.KEPT, None), None),
        # header 1, meta 0: the HTML metadata supersedes previous values
        ("https://other.example/a", "1", "0", (Status.KEPT, None), None),
        # file 1, header 0, meta 1: the meta tag decides
        (
            "https://news.example/articles/2024/bridge",
            "0",
            "1",
            (Status.FILTERED, "optout:tdmrep"),
            "html-meta",
        ),
        # an invalid header value is unset: the file's 1 stands
        (
            "https://news.example/articles/2024/bridge",
            "2",
            None,
            (Status.FILTERED, "optout:tdmrep"),
            "well-known",
        ),
    ],
)
def test_tdmrep_priority(policies: Path, url, header, meta, expected, source) -> None:
    stage = OptOutChecker(tdmrep_dir=str(policies / "tdmrep"))
    html = page(f'<meta name="tdm-reservation" content="{meta}">' if meta is not None else "")
    (doc,) = run(stage, web_doc(html, url=url, headers={"tdm-reservation": header}))
    assert fate(doc) == expected
    if source:
        assert doc.metadata[OPTOUT_EVIDENCE]["source"] == source


# ---------------------------------------------------------------- robots.txt and X-Robots-Tag


def test_robots_disallow_for_an_ai_agent(policies: Path) -> None:
    robots = str(policies / "robots")
    (doc,) = run(OptOutChecker(robots_dir=robots), web_doc(url="https://shop.example/products/1"))
    assert fate(doc) == (Status.FILTERED, "optout:robots")
    assert doc.metadata[OPTOUT_EVIDENCE] == {
        "signal": "robots.txt",
        "value": "disallow",
        "source": "robots.txt",
        "agent": "GPTBot",
        "policy": None,
        "location": None,
    }
    # the same file allows everyone else, and CCBot outside /private/
    allowed = OptOutChecker(robots_dir=robots, agents=["CCBot", "SomeOtherBot"])
    open_doc, private_doc = run(
        allowed, web_doc(url="https://shop.example/products/1"), web_doc(url="https://shop.example/private/a")
    )
    assert fate(open_doc) == (Status.KEPT, None)
    assert fate(private_doc) == (Status.FILTERED, "optout:robots")
    assert private_doc.metadata[OPTOUT_EVIDENCE]["agent"] == "CCBot"


def test_robots_wildcard_group_applies_to_agents_without_their_own(policies: Path) -> None:
    stage = OptOutChecker(robots_dir=str(policies / "robots"), agents=["JAIF-Bot"])
    closed, unknown = run(
        stage, web_doc(url="https://closed.example/x"), web_doc(url="https://none.example/x")
    )
    assert fate(closed) == (Status.FILTERED, "optout:robots")
    assert fate(unknown) == (Status.KEPT, None)  # no robots file: no reservation


def test_robots_and_tdmrep_are_independent_signals(policies: Path) -> None:
    """A TDMRep 0 does not lift a robots.txt disallow: any one reservation filters."""
    stage = OptOutChecker(robots_dir=str(policies / "robots"))
    (doc,) = run(stage, web_doc(url="https://shop.example/a", headers={"tdm-reservation": "0"}))
    assert fate(doc) == (Status.FILTERED, "optout:robots")


@pytest.mark.parametrize(
    ("value", "expected", "agent"),
    [
        ("noai, noimageai", (Status.FILTERED, "optout:robots"), None),
        ("noimageai", (Status.FILTERED, "optout:robots"), None),
        ("NoAI", (Status.FILTERED, "optout:robots"), None),
        ("noindex, nofollow", (Status.KEPT, None), None),  # search directives are not TDM opt-outs
        ("max-snippet: 20, noarchive", (Status.KEPT, None), None),
        ("GPTBot: noai", (Status.FILTERED, "optout:robots"), "GPTBot"),
        ("gptbot: noindex, noai", (Status.FILTERED, "optout:robots"), "GPTBot"),
        ("otherbot: noai", (Status.KEPT, None), None),  # scoped to an agent that is not ours
        ("otherbot: noai, CCBot: noindex", (Status.KEPT, None), None),
    ],
)
def test_x_robots_tag(value: str, expected, agent) -> None:
    (doc,) = run(OptOutChecker(), web_doc(headers={"x-robots-tag": value}))
    assert fate(doc) == expected
    if expected[0] == Status.FILTERED:
        evidence = doc.metadata[OPTOUT_EVIDENCE]
        assert (evidence["signal"], evidence["source"], evidence["agent"]) == (
            "x-robots-tag",
            "http-header",
            agent,
        )
        assert evidence["value"] in ("noai", "noimageai")


def test_x_robots_directives_are_configurable() -> None:
    (doc,) = run(OptOutChecker(x_robots_directives=["noai"]), web_doc(headers={"x-robots-tag": "noimageai"}))
    assert fate(doc) == (Status.KEPT, None)


def test_meta_robots_noai() -> None:
    (doc,) = run(OptOutChecker(), web_doc(page('<meta name="robots" content="noai, noimageai">')))
    assert fate(doc) == (Status.FILTERED, "optout:robots")
    assert doc.metadata[OPTOUT_EVIDENCE]["signal"] == "meta-robots"


def test_robots_directives_parsing() -> None:
    assert robots_directives("noai, GPTBot: noindex, noai, other: noai", ["GPTBot"]) == [
        ("noai", None),
        ("noindex", "GPTBot"),
        ("noai", "GPTBot"),
    ]


# ---------------------------------------------------------------- what is left alone


def test_non_web_documents_untouched(policies: Path) -> None:
    stage = OptOutChecker(robots_dir=str(policies / "robots"), tdmrep_dir=str(policies / "tdmrep"))
    text = '<meta name="tdm-reservation" content="1"> noai'
    docs = [
        make_doc(
            text, "jsonl", content_type="text", url="https://shop.example/a"
        ),  # a JSONL record with a url
        make_doc(text, "plain"),
    ]
    before = [(d.text, dict(d.metadata)) for d in docs]
    out = run(stage, *docs)
    assert [(d.text, d.metadata) for d in out] == before


def test_documents_already_filtered_are_left_alone() -> None:
    doc = web_doc(headers={"tdm-reservation": "1"})
    doc.metadata[STATUS], doc.metadata[REASON] = Status.QUARANTINED, "input:broken"
    (out,) = run(OptOutChecker(), doc)
    assert fate(out) == (Status.QUARANTINED, "input:broken") and OPTOUT_EVIDENCE not in out.metadata


def test_text_is_not_changed() -> None:
    html = page('<meta name="tdm-reservation" content="1">')
    (doc,) = run(OptOutChecker(), web_doc(html))
    assert doc.text == html and doc.metadata[CONTENT_TYPE] == "html"


def test_stage_pickles_for_the_executors(policies: Path) -> None:
    stage = OptOutChecker(robots_dir=str(policies / "robots"))
    run(stage, web_doc(url="https://shop.example/a"))  # fills the per-host cache
    (doc,) = run(pickle.loads(pickle.dumps(stage)), web_doc(url="https://shop.example/a"))
    assert fate(doc) == (Status.FILTERED, "optout:robots")


# ---------------------------------------------------------------- config


def _config(stages: list[dict]) -> dict:
    return {"name": "t", "sources": [{"kind": "files", "url": "x/*.warc.gz"}], "stages": stages}


def test_config_builds_the_stage(policies: Path) -> None:
    config = parse_config(
        _config(
            [
                {"kind": "optout", "robots_dir": str(policies / "robots"), "agents": ["CCBot"]},
                {"kind": "extract"},
            ]
        )
    )
    stage = build_stage(config.stages[0])
    assert isinstance(stage, OptOutChecker) and stage.agents == ["CCBot"]
    default = build_stage(parse_config(_config([{"kind": "optout"}])).stages[0])
    assert default.agents == list(OPTOUT_AGENTS) and default.robots_dir is None


def test_config_rejects_optout_after_extract() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(_config([{"kind": "extract"}, {"kind": "normalize"}, {"kind": "optout"}]))
    message = str(info.value)
    assert "stages[2] 'optout' comes after stages[0] 'extract'" in message


def test_config_rejects_unknown_optout_keys() -> None:
    with pytest.raises(ConfigError, match=r"stages\[0\]\.robots: unknown key"):
        parse_config(_config([{"kind": "optout", "robots": "x"}]))
    with pytest.raises(ConfigError, match=r"stages\[0\]\.x_robots_directives"):
        parse_config(_config([{"kind": "optout", "x_robots_directives": ["noindex"]}]))
