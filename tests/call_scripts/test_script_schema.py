"""Loading and checking script files: every error names file, line, path and problem."""

import pytest

from call_scripts import (
    SCRIPTS_DIR,
    ScriptError,
    ScriptInvalid,
    list_scripts,
    load_script,
    validate,
)


def line_of(path, fragment):
    """The 1-based line of ``fragment`` in the file at ``path``."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if fragment in line:
            return number
    raise AssertionError(f"{fragment!r} not in {path}")


def only_error(path):
    errors = validate(path)
    assert len(errors) == 1, [str(e) for e in errors]
    return errors[0]


def test_shipped_scripts_are_valid():
    """Do the shipped scripts pass every check?"""
    assert validate(SCRIPTS_DIR / "standard_satisfaction.yaml") == []
    assert validate(SCRIPTS_DIR / "short_demo.yaml") == []
    assert [(s.id, s.version) for s in list_scripts()] == [
        ("short_demo", 1),
        ("standard_satisfaction", 1),
    ]


def test_load_by_id_or_path_gives_the_same_script():
    """Does an id resolve to the file in call_scripts/scripts/?"""
    by_id = load_script("standard_satisfaction")
    by_path = load_script(SCRIPTS_DIR / "standard_satisfaction.yaml")
    assert by_id == by_path
    assert by_id.path == SCRIPTS_DIR / "standard_satisfaction.yaml"


def test_demo_script_is_valid(write_script, demo_yaml):
    """Is the test fixture itself a valid script?"""
    assert validate(write_script(demo_yaml)) == []


def test_digest_ignores_comments_but_not_wording(write_script, demo_yaml):
    """Does the digest change exactly when the meaning of the file changes?"""
    base = load_script(write_script(demo_yaml)).digest
    commented = "# a comment\n" + demo_yaml.replace("title: Demo", "title: Demo  # same")
    assert load_script(write_script(commented)).digest == base
    reworded = demo_yaml.replace("满意吗？", "您满意吗？")
    assert load_script(write_script(reworded)).digest != base
    assert len(base) == 64


def test_chinese_text_may_be_folded_over_lines(write_script, demo_yaml):
    """Does a folded Chinese text lose the spaces YAML puts between its lines?"""
    folded = demo_yaml.replace(
        "    text: 满意吗？\n", "    text: >-\n      您对这个单位\n      满意吗？\n"
    )
    script = load_script(write_script(folded))
    assert script.item("q1").text == "您对这个单位满意吗？"


def test_error_string_names_file_line_and_path(broken):
    """Does an error read as file:line: path: message?"""
    path = broken("kind: rating\n    text: 满意吗？", "kind: rating\n    text: 满意吗{unit}？")
    error = only_error(path)
    assert error == ScriptError(
        str(path),
        line_of(path, "满意吗{unit}"),
        "items[2].text",
        "unknown placeholder {unit} (allowed: {unit_name}, {service}, {service_date})",
    )
    assert str(error) == f"{path}:{error.line}: items[2].text: {error.message}"


def test_load_script_raises_with_every_error(broken):
    """Does load_script refuse an invalid file and carry all its errors?"""
    path = broken("version: 1", "version: 0")
    with pytest.raises(ScriptInvalid) as excinfo:
        load_script(path)
    assert [e.path for e in excinfo.value.errors] == ["version"]
    assert "version must be 1 or more" in str(excinfo.value)


def test_missing_file(tmp_path):
    """Is a missing file reported, not raised as OSError?"""
    (error,) = validate(tmp_path / "nope.yaml")
    assert error.line is None
    assert "cannot read file" in error.message
    with pytest.raises(ScriptInvalid):
        load_script("no_such_script")


def test_yaml_syntax_error_has_a_line(write_script, demo_yaml):
    """Is broken YAML reported with the line of the problem?"""
    path = write_script(demo_yaml.replace("title: Demo", "title: [Demo"))
    error = only_error(path)
    assert error.message.startswith("not valid YAML")
    assert error.line is not None


@pytest.mark.parametrize(
    ("old", "new", "fragment", "where", "message"),
    [
        pytest.param(
            "ask_if: {item: q1, in: [good]}",
            "ask_if: {item: q9, in: [good]}",
            "item: q9",
            "items[3].ask_if.item",
            "unknown item 'q9' in condition of item 'q2'",
            id="unknown-item-in-condition",
        ),
        pytest.param(
            "ask_if: {item: q1, in: [good]}",
            "ask_if: {item: q2, in: [good]}",
            "item: q2, in",
            "items[3].ask_if.item",
            "item 'q2' refers to itself (a loop)",
            id="self-reference",
        ),
        pytest.param(
            "ask_if: {item: q1, in: [good]}",
            "ask_if: {item: q1, in: [great]}",
            "in: [great]",
            "items[3].ask_if.in[0]",
            "'great' is not an option of item 'q1' (options: bad, fair, good, na)",
            id="unknown-code-in-condition",
        ),
        pytest.param(
            "ask_if: {item: q1, in: [good]}",
            "ask_if: {all: [{item: q1, in: [good]}, {item: screening, not_in: [nope]}]}",
            "ask_if",
            "items[3].ask_if.all[1].not_in[0]",
            "'nope' is not an option of item 'screening' (options: dealt, not_dealt)",
            id="unknown-code-in-nested-condition",
        ),
        pytest.param(
            "- id: note",
            "- id: q1",
            "may_skip: true",  # the line after "- id: q1" (the second one)
            "items[4].id",
            "duplicate item id 'q1'",
            id="duplicate-item-id",
        ),
        pytest.param(
            "{code: fair, label: 一般, key: 2, points: 50}",
            "{code: fair, label: 一般, key: 2}",
            "code: fair",
            "scales.five[1]",
            "rating option 'fair' has no points (scoring of every level must be in the script)",
            id="rating-option-without-points",
        ),
        pytest.param(
            "weights: {q1: 3, q2: 1}",
            "weights: {q1: 3}",
            "weights:",
            "scoring.weights",
            "rating item 'q2' has no weight (give 0 to leave it out of the score)",
            id="rating-item-without-weight",
        ),
        pytest.param(
            "weights: {q1: 3, q2: 1}",
            "weights: {q1: 3, q2: 1, screening: 1}",
            "weights:",
            "scoring.weights.screening",
            "'screening' is not a rating item",
            id="weight-on-non-rating-item",
        ),
        pytest.param(
            "weights: {q1: 3, q2: 1}",
            "weights: {q1: 3, q2: -1}",
            "weights:",
            "scoring.weights.q2",
            "weight of 'q2' must be a number 0 or more",
            id="negative-weight",
        ),
        pytest.param(
            "satisfied: {item: q2, levels: [good]}",
            "satisfied: {item: q2, levels: [good, na]}",
            "satisfied:",
            "scoring.satisfied.levels[1]",
            "'na' is not a rated level of 'q2'",
            id="satisfied-level-not-rated",
        ),
        pytest.param(
            "{code: fair, label: 一般, key: 2, points: 50}",
            "{code: fair, label: 一般, key: 1, points: 50}",
            "code: fair",
            "scales.five[1].key",
            "duplicate key 1 (also option 1)",
            id="duplicate-key",
        ),
        pytest.param(
            "{code: fair, label: 一般, key: 2, points: 50}",
            "{code: fair, label: 一般, key: 9, points: 50}",
            "code: fair",
            "scales.five[1].key",
            "key 9 is the repeat key (ivr.repeat_key) and cannot be an answer",
            id="repeat-key-used-for-option",
        ),
        pytest.param(
            "{code: fair, label: 一般, key: 2, points: 50}",
            "{code: fair, label: 一般, key: 12, points: 50}",
            "code: fair",
            "scales.five[1].key",
            "key '12' must be one digit 0-9",
            id="key-not-one-digit",
        ),
        pytest.param(
            "{code: fair, label: 一般, key: 2, points: 50}",
            "{code: good, label: 一般, key: 2, points: 50}",
            "label: 一般",
            "scales.five[1].code",
            "duplicate option code 'good'",
            id="duplicate-option-code",
        ),
        pytest.param(
            "{code: fair, label: 一般, key: 2, points: 50}",
            "{code: fair, label: 一般, key: 2, points: 150}",
            "code: fair",
            "scales.five[1].points",
            "points must be 0 to 100, not 150",
            id="points-out-of-range",
        ),
        pytest.param(
            "version: 1",
            "version: one",
            "version: one",
            "version",
            "'version' must be a number, not text",
            id="wrong-type-version",
        ),
        pytest.param(
            "    may_skip: true",
            "    may_skip: sometimes",
            "may_skip: sometimes",
            "items[4].may_skip",
            "'may_skip' must be true/false, not text",
            id="wrong-type-may-skip",
        ),
        pytest.param(
            "{code: dealt, label: 办过, key: 1}",
            "{code: yes, label: 办过, key: 1}",
            "code: yes",
            "items[1].options[0].code",
            "'code' must be text, not true/false "
            "(YAML reads yes/no/on/off unquoted as true/false; put it in quotes)",
            id="unquoted-yes-code",
        ),
        pytest.param(
            "    text: 总体满意吗？\n",
            "",
            "- id: q2",
            "items[3]",
            "missing required field 'text'",
            id="missing-text",
        ),
        pytest.param(
            "title: Demo\n",
            "",
            "id: demo",
            "",
            "missing required field 'title'",
            id="missing-title",
        ),
        pytest.param(
            "  declined: 打扰了\n",
            "",
            "closing:",
            "closing",
            "missing required closing 'declined'",
            id="missing-closing",
        ),
        pytest.param(
            "    scale: five\n    ask_if",
            "    scale: five\n    may_skp: true\n    ask_if",
            "may_skp",
            "items[3].may_skp",
            "unknown field 'may_skp' (allowed: id, kind, title, text, ivr, options, scale, "
            "may_skip, ask_if, channels, note)",
            id="unknown-field",
        ),
        pytest.param(
            "kind: open",
            "kind: essay",
            "kind: essay",
            "items[4].kind",
            "kind must be one of statement, consent, screening, choice, rating, yes_no, open, "
            "not 'essay'",
            id="unknown-kind",
        ),
        pytest.param(
            "    ivr: 总体满意吗？\n    scale: five",
            "    ivr: 总体满意吗？\n    scale: seven",
            "scale: seven",
            "items[3].scale",
            "unknown scale 'seven' (defined: five)",
            id="unknown-scale",
        ),
        pytest.param(
            "    ivr: 总体满意吗？\n",
            "",
            "- id: q2",
            "items[3]",
            "item 'q2': missing 'ivr' wording (it is asked by IVR)",
            id="missing-ivr-wording",
        ),
        pytest.param(
            "    may_skip: true",
            "    may_skip: true\n    channels: [agent, ivr]\n    ivr: 请说",
            "channels:",
            "items[4].channels",
            "item 'note': an open item takes free text and cannot be asked by IVR",
            id="open-item-on-ivr",
        ),
        pytest.param(
            "  complete: 谢谢",
            "  complete: 谢谢{name}",
            "谢谢{name}",
            "closing.complete",
            "unknown placeholder {name} (allowed: {unit_name}, {service}, {service_date})",
            id="unknown-placeholder-in-closing",
        ),
        pytest.param(
            "ends: screened_out}",
            "}",
            "- id: screening",
            "items[1]",
            "item 'screening': screening needs an option that ends: screened_out "
            "and one that goes on",
            id="screening-that-never-screens",
        ),
        pytest.param(
            "ends: screened_out}",
            "ends: expelled}",
            "ends: expelled",
            "items[1].options[1].ends",
            "ends must be one of screened_out, declined, not 'expelled'",
            id="unknown-ends",
        ),
        pytest.param(
            "id: demo",
            "id: other",
            "id: other",
            "id",
            "id 'other' does not match the file name demo.yaml",
            id="id-not-file-name",
        ),
    ],
)
def test_check_reports(broken, old, new, fragment, where, message):
    """Does each kind of broken script give one error at the right place?"""
    path = broken(old, new)
    error = only_error(path)
    assert (error.path, error.message) == (where, message)
    assert error.file == str(path)
    if where == "items[4].id":
        assert error.line == line_of(path, fragment) - 3
    else:
        assert error.line == line_of(path, fragment)


def test_forward_reference_is_a_loop_error(write_script, demo_yaml):
    """May a condition use an answer to a later item? (No: that is how loops start.)"""
    text = demo_yaml.replace(
        "    ivr: 满意吗？\n    scale: five\n",
        "    ivr: 满意吗？\n    scale: five\n    ask_if: {item: q2, in: [good]}\n",
    )
    path = write_script(text)
    messages = [e.message for e in validate(path)]
    assert (
        "item 'q1' refers to later item 'q2': conditions may only use answers to earlier "
        "items (this keeps the interview free of loops)"
    ) in messages


def test_duplicate_yaml_key_is_reported(write_script, demo_yaml):
    """Is a key written twice in one mapping caught (yaml itself keeps the last)?"""
    path = write_script(demo_yaml.replace("title: Demo\n", "title: Demo\ntitle: Again\n"))
    error = only_error(path)
    assert (error.line, error.path, error.message) == (4, "title", "duplicate key 'title'")


def test_consent_needs_a_way_out(write_script, demo_yaml):
    """Must a consent item offer an option that ends the interview as declined?"""
    consent = (
        "  - id: consent\n    kind: consent\n    text: 方便吗？\n    ivr: 方便吗？\n"
        "    options:\n      - {code: ok, label: 方便, key: 1}\n"
        "      - {code: busy, label: 不方便, key: 2}\n"
    )
    path = write_script(demo_yaml.replace("  - id: screening\n", consent + "  - id: screening\n"))
    error = only_error(path)
    assert error.message == (
        "item 'consent': consent needs an option that ends: declined and one that goes on"
    )
    assert error.line == line_of(path, "- id: consent")


def test_yes_no_item_needs_yes_and_no(write_script, demo_yaml):
    """Must a yes_no item have options coded 'yes' and 'no'?"""
    item = (
        "  - id: gift\n    kind: yes_no\n    text: 有没有？\n    ivr: 有没有？\n"
        "    options:\n      - {code: 'yes', label: 有, key: 1}\n"
        "      - {code: nope, label: 没有, key: 2}\n"
    )
    path = write_script(demo_yaml.replace("  - id: note\n", item + "  - id: note\n"))
    assert (
        only_error(path).message == "item 'gift': a yes_no item needs options coded 'yes' and 'no'"
    )


def test_statement_must_precede_an_item_always_asked(write_script, demo_yaml):
    """Is a statement before a conditional item refused (it could be lost)?"""
    statement = "  - id: aside\n    kind: statement\n    text: 下面一题。\n    ivr: 下面一题。\n"
    path = write_script(demo_yaml.replace("  - id: q2\n", statement + "  - id: q2\n"))
    error = only_error(path)
    assert error.message == (
        "statement 'aside' is read with item 'q2', which must be asked always and on every "
        "channel of the statement"
    )


def test_several_errors_are_all_reported(write_script, demo_yaml):
    """Does one run report every problem, not just the first?"""
    text = demo_yaml.replace("version: 1", "version: x").replace("key: 3", "key: 9")
    text = text.replace("screened_out: 再见", "screened_out: 再见{who}")
    paths = sorted(e.path for e in validate(write_script(text)))
    assert paths == ["closing.screened_out", "scales.five[2].key", "version"]


def test_a_script_must_be_a_mapping(write_script):
    """Is a list at the top level refused?"""
    (error,) = validate(write_script("- 1\n- 2\n"))
    assert error.message == "a script must be a mapping of fields, not a list"
