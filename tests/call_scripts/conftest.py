"""Fixtures for the call_scripts tests: shipped scripts and small scripts in tmp_path."""

import pytest

from call_scripts import load_script

#: A small valid script. Tests break it with ``str.replace`` and check the error.
DEMO_YAML = """\
id: demo
version: 1
title: Demo
scales:
  five:
    - {code: good, label: 好, key: 1, points: 100}
    - {code: fair, label: 一般, key: 2, points: 50}
    - {code: bad, label: 差, key: 3, points: 0}
    - {code: na, label: 说不清, key: 0, not_applicable: true}
items:
  - id: hello
    kind: statement
    text: 您好，回访您在{unit_name}办理的事项。
    ivr: 您好，这是自动回访。
  - id: screening
    kind: screening
    text: 您在{unit_name}办过事吗？
    ivr: 您在{unit_name}办过事吗？
    options:
      - {code: dealt, label: 办过, key: 1}
      - {code: not_dealt, label: 没办过, key: 2, ends: screened_out}
  - id: q1
    kind: rating
    text: 满意吗？
    ivr: 满意吗？
    scale: five
  - id: q2
    kind: rating
    text: 总体满意吗？
    ivr: 总体满意吗？
    scale: five
    ask_if: {item: q1, in: [good]}
  - id: note
    kind: open
    text: 有什么建议？
    may_skip: true
scoring:
  weights: {q1: 3, q2: 1}
  satisfied: {item: q2, levels: [good]}
closing:
  complete: 谢谢
  screened_out: 再见
  declined: 打扰了
"""

CONTEXT = {"unit_name": "区市场监管局", "service": "营业执照变更", "service_date": "2024年3月"}


@pytest.fixture
def standard():
    return load_script("standard_satisfaction")


@pytest.fixture
def demo():
    return load_script("short_demo")


@pytest.fixture
def context():
    return dict(CONTEXT)


@pytest.fixture
def write_script(tmp_path):
    """Write YAML text as ``<name>.yaml`` in tmp_path and return its path."""

    def write(text: str, name: str = "demo"):
        path = tmp_path / f"{name}.yaml"
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def broken(write_script):
    """DEMO_YAML with one replacement applied (which must match), written to a file."""

    def make(old: str, new: str, count: int = 1):
        assert DEMO_YAML.count(old) >= count, old
        return write_script(DEMO_YAML.replace(old, new, count))

    return make


@pytest.fixture
def demo_yaml():
    return DEMO_YAML


@pytest.fixture
def demo_script(write_script):
    """DEMO_YAML loaded as a Script."""
    return load_script(write_script(DEMO_YAML))
