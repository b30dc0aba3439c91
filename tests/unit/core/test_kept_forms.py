"""Kept answers go back to the person they were kept for, and never across
organisations: the browser's cookie alone does not decide (a shared computer, a cookie
set by someone else)."""

from app.core import kept_forms


def _keep(tmp_path, user_id, organisation=None):
    return kept_forms.keep(
        tmp_path,
        page="/dossiers/1",
        user_id=user_id,
        values={"title": "x"},
        reason="session_ended",
        organisation=organisation,
    )


def test_answers_kept_for_a_person_go_to_that_person_only(tmp_path):
    token = _keep(tmp_path, user_id=7, organisation=3)
    # Another person of the same organisation, on the same browser: not theirs.
    assert (
        kept_forms.take(
            tmp_path, token, page="/dossiers/1", user_id=8, organisation=3, member_of={3}
        )
        is None
    )
    assert kept_forms.take(
        tmp_path, token, page="/dossiers/1", user_id=7, organisation=3, member_of={3}
    ) == ({"title": "x"}, "session_ended")


def test_answers_of_an_unknown_person_go_only_into_a_file_of_ones_organisation(tmp_path):
    token = _keep(tmp_path, user_id=None)
    # Nothing said about the file's organisation: refused (safe default).
    assert kept_forms.take(tmp_path, token, page="/dossiers/1", user_id=8) is None
    # The file is of an organisation the person does not belong to.
    assert (
        kept_forms.take(
            tmp_path, token, page="/dossiers/1", user_id=8, organisation=3, member_of={4}
        )
        is None
    )
    assert kept_forms.take(
        tmp_path, token, page="/dossiers/1", user_id=8, organisation=3, member_of={3, 4}
    ) == ({"title": "x"}, "session_ended")


def test_answers_kept_for_a_known_organisation_stay_in_it(tmp_path):
    token = _keep(tmp_path, user_id=None, organisation=3)
    # The page now shows a file of another organisation the person belongs to.
    assert (
        kept_forms.take(
            tmp_path, token, page="/dossiers/1", user_id=8, organisation=4, member_of={3, 4}
        )
        is None
    )
    assert kept_forms.take(
        tmp_path, token, page="/dossiers/1", user_id=8, organisation=3, member_of={3}
    ) == ({"title": "x"}, "session_ended")
