"""search(): bad questions, top_k and corpora are refused with a reason; a list of questions gets every answer."""

import pytest

from sitges_retriever.corpus import Procedure
from sitges_retriever.errors import DataError
from sitges_retriever.search import search

CORPUS = [
    Procedure(id="1", title="Padró", text="Alta al padró municipal d'habitants."),
    Procedure(id="2", title="Obres", text="Llicència d'obres majors."),
    Procedure(id="3", title="Residus", text="La deixalleria accepta mobles vells."),
]


@pytest.mark.parametrize("question", ["", "   ", None, [], ["Com m'empadrono?", " "]])
def test_an_empty_or_blank_question_is_refused(tiny_model, question):
    with pytest.raises(DataError, match="(?i)question"):
        search(tiny_model, question, procedures=CORPUS)


@pytest.mark.parametrize("top_k", [0, -1, 2.5, True])
def test_top_k_must_be_a_positive_whole_number(tiny_model, top_k):
    with pytest.raises(DataError, match="top_k must be a positive whole number"):
        search(tiny_model, "Com m'empadrono?", procedures=CORPUS, top_k=top_k)


def test_an_empty_corpus_or_a_folder_as_corpus_file_is_refused(tiny_model, tmp_path):
    with pytest.raises(DataError, match="no procedures"):
        search(tiny_model, "Com m'empadrono?", procedures=[])
    with pytest.raises(DataError, match="is a folder"):
        search(tiny_model, "Com m'empadrono?", procedures=tmp_path)


def test_a_list_of_questions_answers_every_question_as_one_question_would(tiny_model):
    questions = ["Com m'empadrono?", "On llenço un sofà vell?"]
    answers = search(tiny_model, questions, procedures=CORPUS, top_k=2)
    assert len(answers) == 2
    for question, hits in zip(questions, answers, strict=True):
        alone = search(tiny_model, question, procedures=CORPUS, top_k=2)
        assert [h.procedure.id for h in hits] == [h.procedure.id for h in alone]
        # Batched encoding pads, which moves float32 cosines by ~1e-6; min-max fusion over a tiny
        # model's narrow score range can stretch that tenfold. Fused scores live in [0, 1].
        assert [h.score for h in hits] == pytest.approx([h.score for h in alone], abs=1e-3)
