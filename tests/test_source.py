from __future__ import annotations

from policies.source import Map, Seq, iter_documents


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
