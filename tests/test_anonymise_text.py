"""meetings/anonymise/text.py: the record's identifiers in every spelling, identifiers by their shape,
and clinical language left exactly as written. (Recall over a whole corpus: test_anonymise_quality.py.)"""
from __future__ import annotations

import json
from datetime import date

import pytest

from meetings.anonymise.text import Known, pieces, scrub

KNOWN = Known(
    patient_name="Margaret Ann Ellison", nhs_number="9990001234", hospital_number="RX1234567",
    date_of_birth=date(1956, 4, 3), accession_number="ACC00123456", reporter_name="Dr Priya Natarajan",
    referrer_name="Mr Tom Baxter", site_name="Northgate General Hospital", site_code="NGH",
    examination_date=date(2026, 3, 14),
)


def scrubbed(text: str, known: Known | None = KNOWN, **choices) -> str:
    return scrub(text, known, **choices).text


@pytest.mark.parametrize("written", [
    "Margaret Ann Ellison", "Margaret Ellison", "Ellison, Margaret", "ELLISON, Margaret A", "MARGARET ELLISON",
    "Mrs Ellison", "Mrs. M. Ellison", "M. A. Ellison", "M.A. Ellison", "M Ellison", "Ms Margaret Ellison",
    "Dr Ellison", "Prof Ellison", "Sister Ellison", "ellison", "Ellison", "Margaret",
])
def test_the_patients_name_goes_in_every_order_case_and_title(written):
    out = scrubbed(f"Seen today: {written} attended for CT.")
    assert out == "Seen today: [PATIENT] attended for CT."


def test_a_possessive_keeps_its_s_and_the_name_goes():
    assert scrubbed("Mrs Ellison's scan was reviewed.") == "[PATIENT]'s scan was reviewed."


@pytest.mark.parametrize("written", ["999 000 1234", "999-000-1234", "9990001234", "999 0001234"])
def test_the_nhs_number_goes_with_any_spacing(written):
    assert scrubbed(f"NHS number {written}.") == "NHS number [NHS NUMBER]."


@pytest.mark.parametrize("written", [
    "03/04/1956", "3/4/1956", "3 April 1956", "3rd April 1956", "03.04.56", "1956-04-03", "03-Apr-1956",
    "Apr 3, 1956", "April 3rd 1956", "3rd of April 1956", "03041956", "14/03/2026", "14 March 2026",
])
def test_the_record_dates_go_in_every_uk_form(written):
    out = scrub(f"DOB {written} noted.", KNOWN)
    assert out.text == "DOB [DATE] noted."


@pytest.mark.parametrize("written, placeholder", [
    ("RX1234567", "[HOSPITAL NUMBER]"), ("rx 1234567", "[HOSPITAL NUMBER]"),
    ("ACC00123456", "[ACCESSION NUMBER]"), ("ACC-0012-3456", "[ACCESSION NUMBER]"),
])
def test_hospital_and_accession_numbers_go(written, placeholder):
    assert scrubbed(f"Ref {written} today") == f"Ref {placeholder} today"


@pytest.mark.parametrize("text, expected", [
    ("Reported by Dr Priya Natarajan.", "Reported by [NAME]."),
    ("Dr Natarajan's report", "[NAME]'s report"),
    ("Priya reviewed it.", "[NAME] reviewed it."),
    ("Referred by Mr Baxter.", "Referred by [NAME]."),
    ("Scanned at Northgate General Hospital.", "Scanned at [SITE]."),
    ("Scanned at Northgate.", "Scanned at [SITE]."),
    ("NGH protocol", "[SITE] protocol"),
])
def test_reporter_referrer_and_site_go(text, expected):
    assert scrubbed(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("Old NHS no 999 000 0018 on the request.", "Old NHS no [NHS NUMBER] on the request."),
    ("MRN: K123456 and id 77234519", "MRN: [ID] and id [ID]"),
    ("Previous CT 12/05/2019 and 2 Feb 2021, and on 3rd August.", "Previous CT [DATE] and [DATE], and on [DATE]."),
    ("Lives at 14 Acacia Avenue, Westbrook, NG7 2UH.", "Lives at [ADDRESS], [POSTCODE]."),
    ("Postcode SW1A 1AA", "Postcode [POSTCODE]"),
    ("Call 01632 960123 or 07700 900123 or +44 20 7946 0321 or (0115) 496 0123.",
     "Call [PHONE] or [PHONE] or [PHONE] or [PHONE]."),
    ("Bleep 4321 for results.", "Bleep [PHONE] for results."),
    ("Email karen.hill@example.org please.", "Email [EMAIL] please."),
    ("Discussed with Karen Hill, the daughter.", "Discussed with [NAME], the daughter."),
    ("His daughter Karen rang.", "His daughter [NAME] rang."),
    ("Karen Hill (daughter) was present.", "[NAME] (daughter) was present."),
    ("Verified by Dr J Okafor, consultant.", "Verified by [NAME], consultant."),
    ("Seen by Sister O'Brien on the ward.", "Seen by [NAME] on the ward."),
    ("Transferred from Royal Fenwick Infirmary.", "Transferred from [SITE]."),
    ("Imaged at St Elsewhere's Hospital.", "Imaged at [SITE]."),
    ("Under Westbrook Healthcare NHS Trust.", "Under [SITE]."),
])
def test_identifiers_not_in_the_record_are_found_by_their_shape(text, expected):
    assert scrubbed(text, None) == expected


CLINICAL = [
    "Crohn's disease", "Colles fracture", "Hill-Sachs defect", "Baker's cyst", "Barrett's oesophagus",
    "Salter-Harris II", "Weber B", "Bosniak IIF", "BI-RADS 4", "PI-RADS 5", "LI-RADS 3", "Lung-RADS 4A",
    "12 mm", "3.2 x 2.1 cm", "45 HU", "L4/5", "C5-6", "L5/S1", "T12", "3 months ago", "48 hours", "2/52",
    "6/12", "BP 120/80", "SUV max 8.2", "at 14:32", "72-year-old", "Fleischner criteria", "Couinaud segment VII",
    "Glasgow Coma Scale 14", "Gleason 3+4", "Kerley B lines", "Pancoast tumour", "MR Brain", "Wells score",
    "discussed with Urology", "discussed with the MDT", "Fracture Clinic", "AAST grade III", "U4", "T2 5 mm",
]


@pytest.mark.parametrize("term", CLINICAL)
def test_clinical_language_survives(term):
    text = f"Findings: {term} noted; the patient may need review."
    assert scrubbed(text) == text


def test_a_name_that_is_also_an_eponym_goes_only_as_a_name():
    known = Known(patient_name="John Baker")
    out = scrubbed("Mr Baker has a Baker's cyst. Baker was told.", known)
    assert out == "[PATIENT] has a Baker's cyst. [PATIENT] was told."


def test_ordinary_words_that_are_also_names_go_only_when_capitalised():
    known = Known(patient_name="May Brown")
    out = scrubbed("May Brown: the lesion may be brown fat. MAY BROWN.", known)
    assert out == "[PATIENT]: the lesion may be brown fat. [PATIENT]."


def test_findings_point_into_the_original_text_and_name_their_kind():
    text = "Mrs Ellison, DOB 03/04/1956, seen at Northgate."
    result = scrub(text, KNOWN)
    assert [(f.kind, text[f.start:f.end]) for f in result.findings] == [
        ("patient", "Mrs Ellison"), ("date", "03/04/1956"), ("site", "Northgate")]
    assert all(f.own for f in result.findings)
    assert "".join(piece for piece, _ in pieces(text, result.findings)) == text


def test_the_chair_can_redact_more_and_restore_a_false_positive_but_never_the_records_own():
    text = "Seen by Dr Who at Northgate. Nickname Peggy. Discussed with Karen."
    assert scrubbed(text, redact=["peggy"]) == "Seen by Dr Who at [SITE]. Nickname [REDACTED]. Discussed with [NAME]."
    assert scrubbed(text, keep=["Karen", "Northgate"]).endswith("Discussed with Karen.")
    assert "[SITE]" in scrubbed(text, keep=["Karen", "Northgate"])


def test_empty_text_and_no_record():
    assert scrub("", KNOWN).findings == ()
    assert scrubbed("Normal study.", None) == "Normal study."


def run_cli(app, lines: list[str]) -> list[dict]:
    result = app.test_cli_runner().invoke(args=["anonymise-text"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def test_the_command_line_scrubs_json_lines_in_order_and_reports_bad_lines(app):
    out = run_cli(app, [
        json.dumps({"text": "Mrs Jane Doe, DOB 01/02/1960", "known": {"patient_name": "Jane Doe",
                                                                      "date_of_birth": "1960-02-01"}}),
        "this is not json",
        json.dumps({"text": "Lives at NG7 2UH"}),
        json.dumps({"text": "x", "known": {"date_of_birth": "1/2/60"}}),
        json.dumps({"text": "x", "known": {"shoe_size": "9"}}),
        json.dumps(["text"]),
    ])
    assert out[0] == {"text": "[PATIENT], DOB [DATE]", "findings": [
        {"kind": "patient", "start": 0, "end": 12}, {"kind": "date", "start": 18, "end": 28}]}
    assert out[1]["error"].startswith("not valid JSON")
    assert out[2] == {"text": "Lives at [POSTCODE]", "findings": [{"kind": "postcode", "start": 9, "end": 16}]}
    assert out[3] == {"error": '"date_of_birth" must be a date written YYYY-MM-DD'}
    assert out[4] == {"error": 'unknown key in "known": shoe_size'}
    assert out[5] == {"error": 'each line must be an object with a "text" string'}


@pytest.mark.parametrize("written", ["3rd April 1956", "Apr 3, 1956", "03-Apr-56", "03/04/1956", "1956-04-03"])
def test_the_records_own_dates_are_never_put_back_however_written(written):
    assert scrubbed(f"DOB {written}.", keep=[written]) == "DOB [DATE]."


@pytest.mark.parametrize("text, expected", [
    ("Call 0113 496 0782 ext. 2214 or 029-2018-0511 x3936.", "Call [PHONE] or [PHONE]."),
    ("Kind regards,\n\nRhiannon Pritchard\nConsultant Radiologist", "Kind regards,\n\n[NAME]\nConsultant Radiologist"),
    ("Thanks,\nOla\n\nOla Nowicka MRCP FRCR", "Thanks,\n[NAME]\n\n[NAME] MRCP FRCR"),
    ("Hi Bronwen,\nplease see below.", "Hi [NAME],\nplease see below."),
    ("Findings discussed with KOWALSKI T (Dr) at 14:20.", "Findings discussed with [NAME] (Dr) at 14:20."),
    ("Positioning by J. Okonjo (radiographer).", "Positioning by [NAME] (radiographer)."),
    ("Please let Aoife know if it changes.", "Please let [NAME] know if it changes."),
    ("2. Hazel Crabtree KV1208844 74F. Discharged.", "2. [NAME] [ID] 74F. Discharged."),
    ("Chair: Yuki Tanaka", "Chair: [NAME]"),
    ("Done Mon 19th, reviewed Thurs 7/3.", "Done [DATE], reviewed [DATE]."),
    ("Referred from Ysbyty Glan Tywi and Meddygfa'r Bont.", "Referred from [SITE] and [SITE]."),
    ("GP: Dr Mensah & Partners, The Willows Health Centre", "GP: [NAME], [SITE]"),
    ("Site: SAINT BRIDE'S WOMEN'S HOSPITAL", "Site: [SITE]"),
    ("Lives at 4 Heol y Felin, Cwmderwen, SA39 9HX.", "Lives at [ADDRESS], [POSTCODE]."),
    ("Path lab no. H24-118273 sent.", "Path lab no. [ID] sent."),
    ("Seen by Mr ap Gwilym and Máire Ó Súilleabháin (wife).", "Seen by [NAME] and [NAME] (wife)."),
])
def test_names_numbers_and_places_in_letters_emails_and_mdt_lists(text, expected):
    assert scrubbed(text, None) == expected


@pytest.mark.parametrize("text", [
    "Consultant Neuroradiologist", "Sister Mary Joseph nodule", "St James's University Hospital classification grade 4",
])
def test_jobs_and_clinical_names_that_look_like_people_or_places_survive(text):
    assert scrubbed(text, None) == text


def test_a_records_accented_name_is_found_typed_without_accents_and_with_particles():
    known = Known(patient_name="Róisín Ó Dálaigh", referrer_name="Rhys ap Gwilym")
    assert scrubbed("ROISIN O DALAIGH; Roisin; ref rhys ap gwilym (neuro)", known) == "[PATIENT]; [PATIENT]; ref [NAME] (neuro)"


def test_a_surname_that_is_a_word_stays_a_word_in_headings_and_clinical_sentences_but_not_as_a_person():
    known = Known(patient_name="Carol Hand")
    out = scrubbed("XR LEFT HAND AND WRIST\nPatient: HAND, Carol\nHand radiographs show erosions. "
                   "Hand was told. Spoke to Mrs Hand. The hand is swollen.", known)
    assert out == ("XR LEFT HAND AND WRIST\nPatient: [PATIENT]\nHand radiographs show erosions. "
                   "[PATIENT] was told. Spoke to [PATIENT]. The hand is swollen.")


@pytest.mark.parametrize("text, expected", [
    ("CT PERFORMED SAT 5TH SEP; DOB: 15TH OF JUNE 2006; D.O.B. MONDAY 17TH JULY 2006",
     "CT PERFORMED [DATE]; DOB: [DATE]; D.O.B. [DATE]"),
    ("Phoned on 23/10; MRI dated the 19th, here; review in 6/12; the 4th ventricle.",
     "Phoned on [DATE]; MRI dated [DATE], here; review in 6/12; the 4th ventricle."),
    ("Present: Sigrid Campbell; Prof A. Rossi (oncology); M. Fox (radiology)", "Present: [NAME]; [NAME] (oncology); [NAME] (radiology)"),
    ("Next of kin: wife May. Hi Mark - thanks. Case courtesy of Fraser Lamb.",
     "Next of kin: wife [NAME]. Hi [NAME] - thanks. Case courtesy of [NAME]."),
    ("FORENAME(S): BEVERLEY OLUSEGUN    TITLE: MISS", "FORENAME(S): [NAME]    TITLE: MISS"),
    ("Histology (23CT2108814). Transferred to KGH, then (QAUH); SAH on CT.",
     "Histology ([ID]). Transferred to [SITE], then ([SITE]); SAH on CT."),
    ("Refer to Kelmsford General or the Royal Ashbridge; Royal College of Radiologists guidance.",
     "Refer to [SITE] or the [SITE]; Royal College of Radiologists guidance."),
    ("Escalated to BEACOPP after ABVD. Consultant Radiologist, GMC 7958540.",
     "Escalated to BEACOPP after ABVD. Consultant Radiologist, GMC [ID]."),
])
def test_dates_lists_greetings_and_other_hospitals_from_the_second_probe(text, expected):
    assert scrubbed(text, None) == expected


def test_the_records_short_forms_initials_split_fields_and_unheld_middle_names():
    known = Known(patient_name="Mark Kovalenko", date_of_birth=date(1967, 4, 19), examination_date=date(2026, 3, 23),
                  site_name="Inverkell Royal Infirmary", referrer_name="Guy Adeyemi")
    out = scrubbed("MK, 58yo. Mark Louise Kovalenko; SURNAME: KOVALENKO. Scanned on 23/03 at Inverkell DGH, "
                   "North Inverkell. ref guy adeyemi. The guy said.", known)
    assert out == ("[PATIENT], 58yo. [PATIENT]; SURNAME: [PATIENT]. Scanned on [DATE] at [SITE], "
                   "[SITE]. ref [NAME]. The guy said.")


def test_text_about_several_cases_loses_every_cases_identifiers_and_keeps_only_what_all_chairs_kept():
    from meetings.anonymise.text import Choices, scrub_against

    kept_by_both = ("Nobody", "Dr Nobody")
    first = Choices(Known(patient_name="Harriet Polworth"), redact=("Bluebell ward",), keep=kept_by_both)
    second = Choices(Known(patient_name="Ambrose Kettleby"), keep=(*kept_by_both, "Somebody", "Dr Somebody"))
    scrubbed = scrub_against("Harriet Polworth and Ambrose Kettleby, both on Bluebell ward, seen by Dr Nobody "
                             "and Dr Somebody.", [first, second])
    assert "Polworth" not in scrubbed.text and "Kettleby" not in scrubbed.text and "Bluebell" not in scrubbed.text
    assert "Dr Nobody" in scrubbed.text, "kept by both chairs"
    assert "Somebody" not in scrubbed.text, "kept by one chair only"
    assert scrub_against("", [first]).text == ""
