from cmrlab.exercises import check_no_contiguity, check_no_primacy, check_recall_count


def test_unanswered_and_out_of_range_answers_are_explained():
    assert check_no_primacy(None).startswith("Not answered yet")
    assert "must be a number" in check_no_contiguity(3.0)


def test_wrong_answers_get_a_hint_and_right_ones_pass():
    assert check_no_primacy(4.1).startswith("Not yet") and "Hint" in check_no_primacy(4.1)
    assert check_no_primacy(1.0).startswith("Correct")
    assert check_no_contiguity(0.46).startswith("Not yet")
    assert check_no_contiguity(1.0).startswith("Correct")
    assert "raise" in check_recall_count(0.029)
    assert check_recall_count(0.08).startswith("Correct")
