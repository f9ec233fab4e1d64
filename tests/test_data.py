"""Pairs in (files of four formats, datasets), their validation, the held-out split, IR tasks, the demo set."""

import csv
import json

import pytest

from sitges_retriever.corpus import load_procedures
from sitges_retriever.data import Pairs, demo_pairs, ir_task_from_pairs, load_ir_folder, read_pairs, split_pairs
from sitges_retriever.errors import DataError
from sitges_retriever.search import search

ROWS = [
    {"positive": "El padró municipal registra els veïns.", "anchor": "Com m'empadrono?"},
    {"positive": "El padró municipal registra els veïns.", "anchor": "On és l'oficina del padró?"},
    {"positive": "La llicència d'obres majors cal demanar-la abans.", "anchor": "Necessito llicència per reformar?"},
]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    return path


def write_csv(path, rows, columns=("positive", "anchor")):
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.mark.parametrize("suffix", [".jsonl", ".json", ".csv", ".parquet"])
def test_every_file_format_reads_the_same_pairs(tmp_path, suffix):
    path = tmp_path / f"pairs{suffix}"
    if suffix == ".jsonl":
        write_jsonl(path, ROWS)
    elif suffix == ".json":
        path.write_text(json.dumps(ROWS), encoding="utf-8")
    elif suffix == ".csv":
        write_csv(path, ROWS)
    else:
        from datasets import Dataset

        Dataset.from_list(ROWS).to_parquet(str(path))
    pairs = read_pairs(path)
    assert list(pairs) == [(row["positive"], row["anchor"]) for row in ROWS]


def test_a_dataset_and_several_files_are_read_and_exact_duplicates_dropped(tmp_path):
    from datasets import Dataset

    assert list(read_pairs(Dataset.from_list(ROWS))) == list(read_pairs(write_jsonl(tmp_path / "a.jsonl", ROWS)))
    second = write_csv(tmp_path / "b.csv", [ROWS[0], {**ROWS[0], "anchor": ROWS[0]["anchor"] + " "}])
    pairs = read_pairs([tmp_path / "a.jsonl", second])
    assert len(pairs) == 4  # a trailing space makes a different pair
    assert pairs.duplicates_dropped == 1


def test_the_columns_are_given_to_the_trainer_question_first():
    dataset = read_pairs_from(ROWS).to_dataset()
    assert dataset.column_names == ["anchor", "positive"]
    assert dataset[0] == {"anchor": ROWS[0]["anchor"], "positive": ROWS[0]["positive"]}


def read_pairs_from(rows):
    from datasets import Dataset

    return read_pairs(Dataset.from_list(rows))


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"positive": "Text del tràmit."}', "line 2: missing column 'anchor'"),
        ('{"positive": "  ", "anchor": "Pregunta?"}', "line 2: 'positive' is empty"),
        ('{"positive": "Text.", "anchor": 42}', "line 2: 'anchor' must be text, got int"),
        ('{"positive": "Text.", "anchor": null}', "line 2: 'anchor' must be text, got NoneType"),
        ('{"positive": "Text.", "anchor": "Pregunta?"', "line 2: not valid JSON"),
        ('["Text.", "Pregunta?"]', "line 2: expected an object"),
    ],
)
def test_a_bad_jsonl_line_is_named_with_what_is_wrong(tmp_path, line, expected):
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps(ROWS[0]) + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(DataError) as error:
        read_pairs(path)
    assert f"{path}, {expected}" in str(error.value)


def test_a_csv_without_the_anchor_column_names_file_line_and_found_columns(tmp_path):
    path = write_csv(tmp_path / "pairs.csv", [{"positive": "Text.", "question": "Pregunta?"}], ("positive", "question"))
    with pytest.raises(DataError, match=r"pairs\.csv, line 2: missing column 'anchor' \(found: positive, question\)"):
        read_pairs(path)


def test_an_empty_csv_cell_and_a_dataset_row_are_located(tmp_path):
    path = write_csv(tmp_path / "pairs.csv", [ROWS[0], {"positive": "Text.", "anchor": ""}])
    with pytest.raises(DataError, match=r"pairs\.csv, line 3: 'anchor' is empty"):
        read_pairs(path)
    with pytest.raises(DataError, match=r"dataset row 2: 'positive' must be text, got NoneType"):
        read_pairs_from([ROWS[0], {"anchor": "Pregunta?", "positive": None}])
    with pytest.raises(DataError, match=r"The dataset has no column 'anchor' \(columns: positive, question\)"):
        read_pairs_from([{"positive": "Text.", "question": "Pregunta?"}])


def test_unreadable_files_say_which_and_why(tmp_path):
    with pytest.raises(DataError, match=r"missing\.jsonl: no such file"):
        read_pairs(tmp_path / "missing.jsonl")
    (tmp_path / "pairs.txt").write_text("x", encoding="utf-8")
    with pytest.raises(DataError, match=r"pairs\.txt: unknown file type '\.txt'"):
        read_pairs(tmp_path / "pairs.txt")
    (tmp_path / "latin1.jsonl").write_bytes('{"positive": "Informació", "anchor": "Què?"}'.encode("latin-1"))
    with pytest.raises(DataError, match=r"latin1\.jsonl: not UTF-8"):
        read_pairs(tmp_path / "latin1.jsonl")
    (tmp_path / "broken.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match=r"broken\.parquet: not a readable Parquet file"):
        read_pairs(tmp_path / "broken.parquet")
    (tmp_path / "empty.jsonl").write_text("\n", encoding="utf-8")
    with pytest.raises(DataError, match="holds no pairs"):
        read_pairs(tmp_path / "empty.jsonl")


def many_pairs(procedures=40, questions=3):
    positive = tuple(f"Tràmit {p}: descripció del procediment." for p in range(procedures) for _ in range(questions))
    anchor = tuple(f"Pregunta {q} sobre el tràmit {p}?" for p in range(procedures) for q in range(questions))
    return Pairs(positive=positive, anchor=anchor)


def test_the_split_never_puts_one_positive_on_both_sides_and_holds_out_about_a_tenth():
    pairs = many_pairs()
    for seed in range(5):
        train, held_out = split_pairs(pairs, test_size=0.1, seed=seed)
        assert not set(train.positive) & set(held_out.positive)
        assert sorted([*train, *held_out]) == sorted(pairs)
        assert 0.08 <= len(held_out) / len(pairs) <= 0.15


def test_the_split_is_deterministic_by_seed():
    pairs = many_pairs()
    assert split_pairs(pairs, seed=1) == split_pairs(pairs, seed=1)
    assert set(split_pairs(pairs, seed=1)[1].positive) != set(split_pairs(pairs, seed=2)[1].positive)


def test_a_split_needs_two_positives():
    with pytest.raises(DataError, match="at least two different positives"):
        split_pairs(Pairs(positive=("Un sol text.",) * 3, anchor=("a?", "b?", "c?")))


def test_the_held_out_task_searches_every_positive_for_each_held_out_question():
    train, held_out = split_pairs(many_pairs(), seed=3)
    task = ir_task_from_pairs(held_out, train.positive)
    assert sorted(task.queries.values()) == sorted(held_out.anchor)
    assert sorted(task.corpus.values()) == sorted(set(train.positive) | set(held_out.positive))
    for qid, question in task.queries.items():
        (doc,) = task.relevant_docs[qid]
        assert (task.corpus[doc], question) in set(held_out)


def test_an_evaluation_folder_is_read_and_checked(tmp_path):
    (tmp_path / "queries.json").write_text(json.dumps({"q1": "Com m'empadrono?"}), encoding="utf-8")
    (tmp_path / "corpus.json").write_text(json.dumps({"d1": "El padró.", "d2": "Les obres."}), encoding="utf-8")
    (tmp_path / "relevant_docs.json").write_text(json.dumps({"q1": ["d1"]}), encoding="utf-8")
    task = load_ir_folder(tmp_path)
    assert task.relevant_docs == {"q1": {"d1"}} and len(task.corpus) == 2
    (tmp_path / "relevant_docs.json").write_text(json.dumps({"q1": ["d9"]}), encoding="utf-8")
    with pytest.raises(DataError, match="not in its corpus"):
        load_ir_folder(tmp_path)
    (tmp_path / "corpus.json").unlink()
    with pytest.raises(DataError, match="lacks corpus.json"):
        load_ir_folder(tmp_path)


def test_the_demo_set_is_procedures_with_questions():
    procedures = load_procedures()
    assert len(procedures) >= 80
    assert all(p.title and p.text and 3 <= len(p.questions) <= 5 for p in procedures)
    pairs = demo_pairs()
    assert len(pairs) + pairs.duplicates_dropped == sum(len(p.questions) for p in procedures)
    assert set(pairs.positive) == {f"{p.title}\n{p.text}" for p in procedures}  # the title is searched too


def test_a_search_corpus_can_be_pairs_or_a_corpus_json(tmp_path):
    from_pairs = load_procedures(write_jsonl(tmp_path / "pairs.jsonl", ROWS))
    assert [p.text for p in from_pairs] == [ROWS[0]["positive"], ROWS[2]["positive"]]
    (tmp_path / "corpus.json").write_text(json.dumps({"d1": "El padró.", "d2": "Les obres."}), encoding="utf-8")
    assert [(p.id, p.text) for p in load_procedures(tmp_path / "corpus.json")] == [
        ("d1", "El padró."),
        ("d2", "Les obres."),
    ]


def test_a_procedures_own_title_is_searched_with_its_text_but_a_title_made_from_the_text_is_not(tmp_path):
    text = "Tràmit per inscriure's al padró municipal quan es ve a viure a Sitges."
    rows = [{"title": "Alta al padró", "text": text}, {"text": text + " Sense títol."}, {"title": "  ", "text": text}]
    titled, untitled, blank = load_procedures(write_jsonl(tmp_path / "corpus.jsonl", rows))
    assert titled.document == f"Alta al padró\n{text}"  # "alta" is in the name only, as citizens ask it
    assert untitled.document == untitled.text and blank.document == blank.text
    assert untitled.title.startswith("Tràmit per")  # still shown by a title, made from its text
    hits = search(None, "Com em dono d'alta al padró?", procedures=[untitled, titled], mode="bm25", top_k=2)
    assert hits[0].procedure is titled


# --------------------------------------------------------------------------- issue 11: inputs that slipped through


def test_a_csv_row_with_more_fields_than_the_header_is_refused_naming_the_line(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text(
        "positive,anchor\nEl padró registra els veïns.,Com m'empadrono?\nEl tràmit, que es fa a la seu,Com el faig?\n",
        encoding="utf-8",
    )
    with pytest.raises(DataError, match=rf"{path.name}, line 3: more fields than the header.*quote"):
        read_pairs(path)


def test_a_utf8_bom_in_the_csv_header_is_read(tmp_path):
    path = write_csv(tmp_path / "pairs.csv", ROWS)
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert list(read_pairs(path)) == [(r["positive"], r["anchor"]) for r in ROWS]


def test_an_unterminated_csv_quote_says_so(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text(
        "positive,anchor\n\"El padró registra els veïns.,Com m'empadrono?\nUn altre,Què?\n", encoding="utf-8"
    )
    with pytest.raises(DataError, match=r"line 2: a quoted field is never closed"):
        read_pairs(path)


def test_a_json_array_saved_as_jsonl_and_jsonl_saved_as_json_say_the_format_is_mixed_up(tmp_path):
    pretty = tmp_path / "pretty.jsonl"
    pretty.write_text(json.dumps(ROWS, indent=2), encoding="utf-8")
    one_line = tmp_path / "one_line.jsonl"
    one_line.write_text(json.dumps(ROWS), encoding="utf-8")
    for path in (pretty, one_line):
        with pytest.raises(DataError, match=r"holds a JSON array.*rename it to \.json"):
            read_pairs(path)
    lines = write_jsonl(tmp_path / "lines.json", ROWS)
    with pytest.raises(DataError, match=r"holds JSON Lines.*rename it to \.jsonl"):
        read_pairs(lines)


@pytest.mark.parametrize(
    ("corpus", "expected"),
    [
        ({"a": 1, "b": "Text."}, r"entry 'a'.*must be text, got int"),
        ({"a": "Text.", "b": None}, r"entry 'b'.*must be text, got NoneType"),
        ({"c": ["x"]}, r"entry 'c'.*must be text, got list"),
        ({"d": "   "}, r"entry 'd'.*is empty"),
        ({}, r"holds no procedures"),
    ],
)
def test_a_search_corpus_json_with_non_text_or_blank_values_is_refused(tmp_path, corpus, expected):
    path = tmp_path / "corpus.json"
    path.write_text(json.dumps(corpus), encoding="utf-8")
    with pytest.raises(DataError, match=expected):
        load_procedures(path)


def test_a_folder_given_as_a_corpus_file_is_named_a_folder(tmp_path):
    with pytest.raises(DataError, match="is a folder; give a .jsonl"):
        load_procedures(tmp_path)
