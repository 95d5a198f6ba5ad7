from __future__ import annotations

from oomguard.policies.source import Map, Seq, iter_documents


def test_positions_of_keys_and_items() -> None:
    doc = next(iter_documents("a: 1\nb:\n  - x\n  - {c: 2}\n"))
    data = doc.data
    assert isinstance(data, Map) and isinstance(data["b"], Seq)
    assert data.key_pos["a"] == (1, 1)
    assert data.key_pos["b"] == (2, 1)
    assert data["b"].item_pos == [(3, 5), (4, 5)]
    assert data["b"][1].key_pos["c"] == (4, 6)


def test_yaml_11_scalars_like_kubernetes() -> None:
    data = next(iter_documents("a: yes\nb: 'yes'\nc: 0x1F\nd: 1.5\ne: ~\nf: 012\ng: 512m\n")).data
    assert data == {"a": True, "b": "yes", "c": 31, "d": 1.5, "e": None, "f": 10, "g": "512m"}


def test_syntax_error_loses_only_its_document() -> None:
    text = "a: 1\n---\nb: : c\n---\nd: 4\n"
    docs = list(iter_documents(text))
    assert docs[0].data == {"a": 1}
    assert docs[1].data is None and docs[1].problems[0].line == 3
    assert docs[-1].data == {"d": 4}
    assert docs[-1].data.key_pos["d"] == (5, 1)


def test_duplicate_key_kept_and_reported() -> None:
    doc = next(iter_documents("a: 1\nb: 2\na: 3\n"))
    assert doc.data["a"] == 3
    assert doc.problems and doc.problems[0].line == 3 and "duplicate key 'a'" in doc.problems[0].message


def test_unknown_tags_and_merge_keys() -> None:
    doc = next(iter_documents("base: &b {x: 1}\nm:\n  <<: *b\n  y: 2\nt: !Ref foo\n"))
    assert doc.data["m"] == {"x": 1, "y": 2}
    assert doc.data["t"] == "foo"


def test_json_documents_have_positions() -> None:
    doc = next(iter_documents('{\n  "kind": "Pod",\n  "spec": {"containers": []}\n}\n'))
    assert doc.data["kind"] == "Pod"
    assert doc.data.key_pos["spec"] == (3, 3)


# -- hostile input: every limit is a located problem, the other documents are still read -----

def _docs(text: str) -> list[tuple[object, int, list[tuple[str, int | None, int | None]]]]:
    return [(d.data, d.line, [(p.message, p.line, p.column) for p in d.problems])
            for d in iter_documents(text)]


BILLION_LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{name}: &{name} [{','.join(['*' + prev] * 9)}]\n"
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True))


def test_alias_bomb_is_refused_at_the_alias_and_the_next_document_read() -> None:
    docs = _docs("kind: Pod\n---\n" + BILLION_LAUGHS + "---\nkind: Deployment\n")
    assert docs[0][0] == {"kind": "Pod"}
    data, line, [(message, at_line, column)] = docs[1]
    assert data is None and "excessive aliasing" in message and "alias 'c'" in message
    # the 4th alias of line 6 (d: &d [*c,*c,*c,*c...) tips the count, as in go-yaml
    assert (at_line, column) == (6, 17)
    assert docs[2][0] == {"kind": "Deployment"} and docs[2][1] == 13


def test_aliases_within_go_yamls_budget_are_shared_not_copied() -> None:
    doc = next(iter_documents("base: &b {memory: 1Gi}\nx: [*b, *b, *b]\n"))
    assert not doc.problems
    x = doc.data["x"]
    assert x == [{"memory": "1Gi"}] * 3 and x[0] is x[1] is doc.data["base"]
    assert x.item_pos == [(2, 5), (2, 9), (2, 13)]  # each alias where it is written


def test_self_referencing_and_undefined_aliases() -> None:
    assert _docs("x: &a [1, *a]\n---\nb: 2\n") == [
        (None, 1, [("the value of anchor 'a' contains an alias to itself", 1, 11)]),
        ({"b": 2}, 3, [])]
    assert _docs("x: &a {y: {z: *a}}\n")[0][2] == [
        ("the value of anchor 'a' contains an alias to itself", 1, 15)]
    assert _docs("x: *nope\n")[0][2] == [("found undefined alias 'nope'", 1, 4)]


def test_nesting_is_limited_in_flow_and_block_style() -> None:
    from oomguard.policies.source import MAX_DEPTH

    ok = "a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n"
    assert not next(iter_documents(ok)).problems
    deep = "a: " + "[" * 200_000 + "]" * 200_000 + "\n---\nb: 2\n"  # libyaml's composer: SIGSEGV
    assert _docs(deep) == [
        (None, 1, [(f"collections nest deeper than {MAX_DEPTH} levels", 1, 3 + MAX_DEPTH)]),
        ({"b": 2}, 3, [])]
    block = "a:\n" + "".join(" " * i + "-\n" for i in range(1, 400)) + "---\nb: 2\n"
    docs = _docs(block)
    assert docs[0][2][0][0].startswith("collections nest deeper") and docs[0][2][0][1] == MAX_DEPTH + 1
    assert docs[1][0] == {"b": 2}


def test_control_characters_are_located_and_only_their_document_lost() -> None:
    # libyaml reads ahead: the ESC three documents on used to end the whole parse without a
    # position, and the resume restarted at offset 0 forever
    text = "a: 1\n---\nb: 2\n---\nc: \x1b[31mred\n---\nd: \x07\n---\ne: 5\n"
    docs = _docs(text)
    assert [d[0] for d in docs] == [{"a": 1}, {"b": 2}, None, None, {"e": 5}]
    assert docs[2][2] == [("YAML syntax error: control character U+001B is not allowed in YAML; "
                           "the document holding it is not read", 5, 4)]
    assert docs[3][2][0][1:] == (7, 4) and "U+0007" in docs[3][2][0][0]
    assert docs[4][0].key_pos["e"] == (9, 1)


def test_control_character_after_an_explicit_document_end() -> None:
    docs = _docs("a: 1\n...\n---\nb: 2\n---\nc: \x1b\n---\nd: 4\n")
    assert [d[0] for d in docs] == [{"a": 1}, {"b": 2}, None, {"d": 4}]
    assert docs[2][2][0][1:] == (6, 4) and docs[3][1] == 8


def test_lone_surrogate_from_a_json_escape_is_a_located_problem() -> None:
    docs = _docs("a: 1\n---\nb: '\ud800'\n---\nc: 3\n")
    assert [d[0] for d in docs] == [{"a": 1}, None, {"c": 3}]
    assert docs[1][2][0][1:] == (3, 5)


def test_error_reported_on_the_next_document_start_keeps_that_document() -> None:
    # an unclosed quote or flow mapping is reported on the `---` line that ends it
    for broken in ('a: "x\n', "a: {b: 1\n", "a: [1,\n"):
        docs = _docs(broken + "---\nkind: Pod\n---\nc: 3\n")
        assert [d[0] for d in docs] == [None, {"kind": "Pod"}, {"c": 3}], broken
        assert docs[0][2][0][1:] == (2, 1) and docs[1][1] == 3


def test_crlf_documents_after_an_error_are_kept() -> None:
    docs = _docs("a: : b\r\n---\r\nkind: Pod\r\n--- # note\r\nc: 3\r\n")
    assert [d[0] for d in docs] == [None, {"kind": "Pod"}, {"c": 3}]
    assert docs[2][0].key_pos["c"] == (5, 1)


def test_every_restart_moves_forward() -> None:
    # errors on a document's own `---` line, and errors with nothing after them
    assert _docs("--- {\n---\nb: 2\n")[-1][0] == {"b": 2}
    assert [d[0] for d in _docs("--- : x\n--- : y\n---\nz: 1\n")][-1] == {"z": 1}
    assert _docs("a: [\n")[0][0] is None


def test_huge_integer_stays_a_string() -> None:
    value = "9" * 5000  # past Python's 4,300-digit int() limit: int() raises ValueError
    assert next(iter_documents(f"a: {value}\n")).data == {"a": value}


def test_overriding_a_merged_key_is_no_duplicate() -> None:
    text = "base: &b {x: 1, y: 2}\nm:\n  <<: *b\n  x: 3\n"
    doc = next(iter_documents(text))
    assert doc.data["m"] == {"x": 3, "y": 2} and not doc.problems
    assert doc.data["m"].key_pos["x"] == (4, 3)
    # a real duplicate after the override still is one
    doc = next(iter_documents(text + "  x: 4\n"))
    assert doc.data["m"]["x"] == 4
    assert [(p.line, p.column) for p in doc.problems] == [(5, 3)]
    assert "duplicate key 'x' (first at line 4)" in doc.problems[0].message
    # explicit keys win over a merge written after them, and are no duplicate either
    doc = next(iter_documents("base: &b {x: 1, y: 2}\nm:\n  x: 3\n  <<: [*b, {z: 4}]\n"))
    assert doc.data["m"] == {"x": 3, "y": 2, "z": 4} and not doc.problems
