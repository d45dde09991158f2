"""Synthetic UK radiology texts with identifiers planted at known places: the yardstick for the text scrubber.

`generate(n, seed)` writes clinical questions, structured reports, free prose, MDT notes, addenda, meeting
outcomes and letters. Each item carries the record it was written about (as the scrubber's `Known`, with
fields left out at random), every identifier planted in it with its span and whether it is one of the
record's own, and the clinical terms placed on purpose that must come through the scrubber verbatim.
`score(reports, results)` measures a scrubber's output against them.

Identifiers that the record does not name are only ever written where a careful reader could tell them
from prose by their shape: after a title or a role phrase ("Dr", "daughter", "spoke to"), as a date, a
check-digit-valid NHS number, a long alphanumeric id, a postcode, a phone number, an email, a numbered
street, a hospital (…Hospital, …Infirmary) or a GP practice (…Surgery, …Health Centre). Patient names
without a title, and the site's code, appear only when the record names them. Times glued to a date and
towns are written but not planted: they are neither identifiers to catch nor clinical terms to keep.

Surnames that are also English words or eponyms (Baker, Hill, Small, White) are common on purpose, and a
report often carries the clinical phrase one of its own people's surnames collides with ("Mr Baker" beside
"Baker's cyst"), so that precision is stressed where it matters.

How a report is judged (`caught`, `clinical_kept`): an identifier is caught when every character of it lies
inside some finding and the output holds no more copies of its value than the findings left uncovered (so
"Hill" may stay in "Hill-Sachs defect"). A clinical term is kept when the output holds it exactly as often
as the input, less copies inside a planted identifier that a finding touched ("6/12" in "6/12/2020").

Everything is invented: NHS numbers come from the 999 test range, phone numbers from Ofcom's ranges for
drama, emails from example.org and example.com.
"""
from __future__ import annotations

import random
import re
import unicodedata
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field, fields
from datetime import date, timedelta

from meetings import nhs_number
from meetings.anonymise.text import Known

# The record's own identifier kinds, named after the `Known` field each comes from.
OWN_KINDS = ("patient", "date_of_birth", "nhs_number", "hospital_number", "accession_number", "reporter",
             "referrer", "site", "examination_date")
OTHER_KINDS = ("name", "date", "nhs_number", "id", "site", "postcode", "phone", "email", "address")
_KNOWN_FIELDS = {f.name for f in fields(Known)}


@dataclass(frozen=True)
class Planted:
    kind: str
    start: int
    end: int
    value: str
    own: bool  # one of the identifiers the record (the `known` passed to the scrubber) itself names


@dataclass
class SyntheticReport:
    text: str
    known: Known | None
    planted: list[Planted]
    clinical: list[str]
    style: str = ""


# --- pools -----------------------------------------------------------------------------------------------

FEMALE_FIRST = """Margaret Priya Aisha Chloe Olivia Amelia Isla Emily Sophie Grace Ruby Evie Hannah Zara Fatima
Niamh Siobhan Bronwen Eilidh Catriona Agnieszka Oksana Ngozi Chiamaka Adaeze Mei Xiu Yuki Ananya Deepa
Harpreet Simran Nadia Leila Yasmin Rosa Lucia Ines Joanna Beata Dorothy Edith Joan Brenda Pauline Sandra
Janet Maureen Gwen Rhiannon Kirsty Gemma Leanne Kayleigh Shannon Jade Tanisha Abena Efua Maryam Hiba Sana
Zoë Aoife Róisín Ewa Kasia Mia Poppy Freya Holly Rose Hope April May June Dawn Faith Ivy Iris Pearl Olive
Hazel Irene Sarah Anne Elizabeth""".split()
MALE_FIRST = """Tom Thomas David James John Michael Peter Robert William Will Jack Harry Oliver George Noah
Mohammed Ahmed Omar Bilal Imran Rajesh Sanjay Arjun Vikram Gurpreet Hamza Yusuf Kwame Kofi Chinedu Emeka
Oluwaseun Tunde Wei Jun Hiroshi Piotr Tomasz Marek Andrzej Bogdan Luca Marco Mateo José Diego Callum Euan
Hamish Angus Rhys Gareth Dylan Iwan Cian Seán Declan Liam Kieran Darren Wayne Gary Keith Trevor Derek Clive
Nigel Graham Colin Alan Brian Stanley Arthur Albert Ernest Frank Mark Felix Oskar Daniel Grant Dean""".split()
FEMALE_MIDDLE = "Ann Louise Jane Marie Elizabeth Grace Rose May Nicole Amina".split()
MALE_MIDDLE = "John James Paul Edward Lee Kumar Ali Michael Anthony Oluwadamilare".split()
SURNAMES = """Ellison Natarajan Baxter Whitcombe Castellano Marchetti Lindqvist Okafor Adeyemi Mensah Asante
Nwosu Patel Shah Khan Hussain Ahmed Begum Chaudhry Iqbal Singh Kaur Gill Sandhu Sharma Gupta Chen Wang Li
Zhang Nguyen Tanaka Kowalski Nowak Wiśniewski Zielinska Popescu Ivanova Rossi Russo Ferreira Silva García
Murphy O'Neill O'Connor Kelly Byrne McAllister MacDonald MacLeod Campbell Stewart Robertson Fraser Jones
Williams Davies Evans Thomas Roberts Lewis Hughes Morgan Griffiths Price Jenkins Taylor Wilson Johnson
Walker Wright Thompson Robinson Clarke Jackson Harrison Cartwright Fairweather Ashworth Pemberton
Thistlewood Higginbottom Ramsbottom Featherstone Smith-Jones Fernandes-Reid Ali Rahman Mahmood Osei
Boateng Danso""".split()
# Surnames that are also English words, anatomy or eponyms: the precision traps.
WORD_SURNAMES = """Baker Hill Mill Mills Brown Young White Green Black Wood Stone Bishop Cook Fox King Long
Little Small Rose Wells Smith Barrett Morton Brodie Harris Weber Garden Graves Addison Bell Parkinson Ewing
Todd Hand Foot Head Wall Bone Marsh Sharp Hope Field Cross Lamb Moss Swan Church Hall Mason Turner Page
Chambers""".split()
# A sentence carrying the clinical phrase each trap surname collides with.
COLLISIONS = {
    "Baker": "A [[Baker's cyst]] is present in the popliteal fossa.",
    "Hill": "There is a [[Hill-Sachs defect]] of the posterolateral humeral head.",
    "Smith": "Volar angulation of the distal radius, a [[Smith's fracture]].",
    "Barrett": "Known [[Barrett's oesophagus]] under surveillance.",
    "Morton": "Findings favour a [[Morton's neuroma]] in the third intermetatarsal space.",
    "Brodie": "Lucent metaphyseal lesion with a sclerotic rim, likely a [[Brodie abscess]].",
    "Wells": "Pre-test probability was high ([[Wells score]] above 4).",
    "Harris": "The physeal fracture is [[Salter-Harris II]].",
    "Weber": "The fibular fracture is at the level of the syndesmosis, [[Weber B]].",
    "Garden": "Displaced intracapsular fracture, [[Garden IV]].",
    "Graves": "Diffusely enlarged hyperaemic thyroid in keeping with [[Graves' disease]].",
    "Addison": "Small calcified adrenals; history of [[Addison's disease]].",
    "Bell": "Imaging was requested for [[Bell's palsy]] with atypical features.",
    "Parkinson": "Background of [[Parkinson's disease]].",
    "Ewing": "Permeative diaphyseal lesion with onion-skin periosteal reaction, concerning for [[Ewing sarcoma]].",
    "Todd": "Transient weakness was attributed to [[Todd's paresis]].",
    "Small": "[[Small bowel]] loops are of normal calibre.",
    "White": "[[White matter]] changes are in keeping with small vessel disease.",
    "Long": "[[Long segment]] narrowing of the superficial femoral artery.",
    "Hand": "[[Hand radiographs]] show periarticular erosions.",
    "Foot": "[[Foot radiographs]] show no fracture.",
    "Head": "[[Head CT]] showed no intracranial haemorrhage.",
    "Wall": "[[Wall thickening]] of the caecum measures 9 mm.",
    "Bone": "[[Bone windows]] show no destructive lesion.",
    "Marsh": "Duodenal biopsies showed [[Marsh 3]] changes.",
    "Stone": "[[Stone]] at the left vesicoureteric junction with mild hydronephrosis.",
    "Field": "[[Field of view]] includes the lung bases, which are clear.",
    "Cross": "[[Cross-sectional imaging]] is recommended.",
}
PLACES = """Northgate Westbrook Fenwick Ashby Kingsmere Lowther Brackenfield Hartsford Eastleigh Oakham
Thornbury Millbrook Stanway Elmsworth Castleford Ravenscar Pendle Haverley Bramley Oxley Wyndham Calder
Larkhill Netherby Kestrel Fairholme Greywell Southmoor""".split()
SAINTS = "Elsewhere Aidan Cuthbert Hilda Bartholomew Luke Mary Margaret George Catherine Columba".split()
STREETS = """Acacia Mill Church Station Victoria Park Meadow Orchard Willow Beech Chestnut Queen's King's Manor
Greenbank Hawthorn Rosebery Albert Castle Hillside Brook Elm Laburnum Sycamore Cedar Primrose""".split()
STREET_TYPES = ("Road", "Street", "Lane", "Avenue", "Close", "Drive", "Crescent", "Gardens", "Grove",
                "Terrace", "Way", "Court", "Place", "Rd", "St", "Ave")
POSTCODE_AREAS = """NG B SW SE N E W EC WC LS M S L G EH CF BS DE LE OX CB NE BT AB DN HU YO PL EX TR""".split()
SURGERIES = ("Oakfield Surgery", "Riverside Medical Practice", "Limes Health Centre", "Parkview Medical Group",
             "Station Road Surgery", "Brook Lane Surgery", "Castle Medical Centre")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")

# Ofcom's numbers reserved for drama: (prefix, how many digits follow).
DRAMA_PHONES = [(f"0{c} 496 0", 3) for c in (113, 114, 115, 116, 117, 118, 121, 131, 141, 151, 161)] + [
    ("0191 498 0", 3), ("020 7946 0", 3), ("028 9649 6", 3), ("029 2018 0", 3), ("01632 960", 3),
    ("07700 900", 3)]


# --- how identifiers are written ------------------------------------------------------------------------

def _ordinal(day: int) -> str:
    if 10 <= day % 100 <= 20:
        return f"{day}th"
    return f"{day}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(day % 10, 'th')}"


def _mon(d: date, rng: random.Random) -> str:
    return "Sept" if d.month == 9 and rng.random() < 0.3 else MONTHS[d.month - 1][:3]


DATE_STYLES = {
    "dd/mm/yyyy": lambda d, r: f"{d.day:02d}/{d.month:02d}/{d.year}",
    "d/m/yyyy": lambda d, r: f"{d.day}/{d.month}/{d.year}",
    "d Month yyyy": lambda d, r: f"{d.day} {MONTHS[d.month - 1]} {d.year}",
    "dth Month yyyy": lambda d, r: f"{_ordinal(d.day)} {MONTHS[d.month - 1]} {d.year}",
    "dth of Month yyyy": lambda d, r: f"{_ordinal(d.day)} of {MONTHS[d.month - 1]} {d.year}",
    "dd.mm.yy": lambda d, r: f"{d.day:02d}.{d.month:02d}.{d.year % 100:02d}",
    "dd.mm.yyyy": lambda d, r: f"{d.day:02d}.{d.month:02d}.{d.year}",
    "yyyy-mm-dd": lambda d, r: d.isoformat(),
    "dd-Mon-yyyy": lambda d, r: f"{d.day:02d}-{_mon(d, r)}-{d.year}",
    "Mon d, yyyy": lambda d, r: f"{_mon(d, r)} {d.day}, {d.year}",
    "Month d, yyyy": lambda d, r: f"{MONTHS[d.month - 1]} {d.day}, {d.year}",
    "d Mon yy": lambda d, r: f"{d.day} {_mon(d, r)} {d.year % 100:02d}",
    "d Mon yyyy": lambda d, r: f"{d.day} {_mon(d, r)} {d.year}",
    "dd/mm/yy": lambda d, r: f"{d.day:02d}/{d.month:02d}/{d.year % 100:02d}",
    "dd-mm-yyyy": lambda d, r: f"{d.day:02d}-{d.month:02d}-{d.year}",
    "DD MON YYYY": lambda d, r: f"{d.day:02d} {MONTHS[d.month - 1][:3].upper()} {d.year}",
}


def format_date(d: date, rng: random.Random) -> str:
    return DATE_STYLES[rng.choice(sorted(DATE_STYLES))](d, rng)


def format_nhs(number: str, rng: random.Random) -> str:
    style = rng.randrange(3)
    if style == 0:
        return number
    sep = " " if style == 1 else "-"
    return f"{number[:3]}{sep}{number[3:6]}{sep}{number[6:]}"


def random_nhs(rng: random.Random) -> str:
    while True:
        first_nine = f"999{rng.randrange(1_000_000):06d}"
        digit = nhs_number.check_digit(first_nine)
        if digit is not None:
            return first_nine + str(digit)


def random_postcode(rng: random.Random) -> str:
    area = rng.choice(POSTCODE_AREAS)
    district = str(rng.randint(1, 9 if len(area) == 1 else 29))
    if area in ("SW", "EC", "WC", "W", "N", "E") and rng.random() < 0.3:
        district = f"{rng.randint(1, 9)}{rng.choice('ABCHMNPRVWXY')}"
    inward = f"{rng.randint(0, 9)}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}{rng.choice('ABDEFGHJLNPQRSTUWXYZ')}"
    return f"{area}{district}{inward}" if rng.random() < 0.05 else f"{area}{district} {inward}"


def random_phone(rng: random.Random) -> str:
    prefix, digits = rng.choice(DRAMA_PHONES)
    local = prefix + "".join(str(rng.randrange(10)) for _ in range(digits))
    style = rng.randrange(6)
    if style == 0:
        return local.replace(" ", "")
    if style == 1 and not local.startswith("07"):
        code, rest = local.split(" ", 1)
        return f"({code}) {rest}"
    if style == 2:
        return "+44 " + local[1:]
    if style == 3 and local.startswith("020"):
        return "+44 (0)" + local[1:]
    if style == 4 and local.startswith("07"):
        return f"{local[:5]} {local[6:9]} {local[9:]}"
    return local


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().replace("'", "").lower()


def random_email(rng: random.Random, first: str, last: str) -> str:
    domain = rng.choice(("example.org", "example.com", "nhs.example.org", "mail.example.com"))
    local = rng.choice((f"{first}.{last}", f"{first[0]}.{last}", f"{first}{last}{rng.randint(1, 99)}",
                        f"{last}.{first}"))
    return f"{_ascii(local)}@{domain}"


def random_address(rng: random.Random) -> str:
    street = f"{rng.randint(1, 240)} {rng.choice(STREETS)} {rng.choice(STREET_TYPES)}"
    return f"Flat {rng.randint(1, 12)}, {street}" if rng.random() < 0.2 else street


def random_hospital(rng: random.Random) -> str:
    place = rng.choice(PLACES)
    return rng.choice((f"{place} General Hospital", f"{place} District General Hospital",
                       f"Royal {place} Infirmary", f"{place} Royal Infirmary", f"{place} Community Hospital",
                       f"{place} University Hospital", f"St {rng.choice(SAINTS)}'s Hospital",
                       f"{place} Children's Hospital", f"{place} Hospital"))


def random_id(rng: random.Random) -> str:
    """An MRN-like id that is not the record's: letters then six to nine digits, or eight digits."""
    digits = "".join(str(rng.randrange(10)) for _ in range(rng.randint(6, 9)))
    if rng.random() < 0.2:
        return "".join(str(rng.randrange(10)) for _ in range(8))
    prefix = "".join(rng.choice("ABCDEFGHJKLMNPRSTVWXYZ") for _ in range(rng.randint(1, 4)))
    return prefix + digits


# --- the record -----------------------------------------------------------------------------------------

@dataclass
class _Person:
    title: str
    first: str
    last: str
    middle: str = ""

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


@dataclass
class _Record:
    patient: _Person
    dob: date
    nhs: str
    hospital_number: str
    accession: str
    reporter: _Person
    referrer: _Person
    site: str
    site_code: str
    exam: date
    known: Known | None
    own: set[str] = field(default_factory=set)  # Known fields given to the scrubber
    patient_middle_known: bool = False


def _surname(rng: random.Random) -> str:
    return rng.choice(WORD_SURNAMES if rng.random() < 0.35 else SURNAMES)


def _person(rng: random.Random, titles: tuple[str, ...], female: bool | None = None) -> _Person:
    female = rng.random() < 0.5 if female is None else female
    title = rng.choice(titles)
    if title in ("Mrs", "Ms", "Miss", "Sister"):
        female = True
    elif title in ("Mr", "Master"):
        female = False
    first = rng.choice(FEMALE_FIRST if female else MALE_FIRST)
    middle = rng.choice(FEMALE_MIDDLE if female else MALE_MIDDLE) if rng.random() < 0.5 else ""
    return _Person(title, first, _surname(rng), middle)


def _record(rng: random.Random, scenario: _Scenario) -> _Record:
    female = scenario.sex == "F" or (not scenario.sex and rng.random() < 0.5)
    exam = date(2018, 1, 1) + timedelta(days=rng.randrange(365 * 8))
    dob = exam - timedelta(days=rng.randrange(365 * scenario.ages[0] + 1, 365 * scenario.ages[1] + 300))
    child = exam.year - dob.year < 16
    titles = (("Miss",) if child else ("Mrs", "Ms", "Miss")) if female else (("Master",) if child else ("Mr",))
    patient = _person(rng, titles, female)
    site = random_hospital(rng)
    site_code = "".join(w[0] for w in re.findall(r"[A-Z][a-z]+", site))[:4]
    number_prefix = rng.choice((site_code, "RX", "K", "M", ""))
    hospital_number = number_prefix + "".join(str(rng.randrange(10)) for _ in range(8 if not number_prefix else 7))
    yy = exam.year % 100
    accession = rng.choice((f"ACC{rng.randrange(10**8):08d}", f"{site_code}{yy}{rng.randrange(10**6):06d}",
                            f"RA{rng.randrange(10**10):010d}", f"XR-{yy}-{rng.randrange(10**7):07d}"))
    record = _Record(patient, dob, random_nhs(rng), hospital_number, accession,
                     _person(rng, ("Dr", "Dr", "Dr", "Prof")), _person(rng, ("Dr", "Dr", "Mr", "Ms", "Prof")),
                     site, site_code, exam, None)
    if rng.random() < 0.04:
        return record  # no record at all: the scrubber gets known=None
    values = {
        "patient_name": patient.name, "nhs_number": record.nhs, "hospital_number": hospital_number,
        "date_of_birth": dob, "accession_number": accession, "site_name": site, "site_code": site_code,
        "examination_date": exam,
        "reporter_name": f"{record.reporter.title} {record.reporter.name}" if rng.random() < 0.6
        else record.reporter.name,
        "referrer_name": f"{record.referrer.title} {record.referrer.name}" if rng.random() < 0.6
        else record.referrer.name,
    }
    if patient.middle and rng.random() < 0.7:
        values["patient_name"] = f"{patient.first} {patient.middle} {patient.last}"
        record.patient_middle_known = True
    record.own = {k for k in values if k in _KNOWN_FIELDS and rng.random() < 0.85}
    record.known = Known(**{k: (v if k in record.own else (None if isinstance(v, date) else ""))
                            for k, v in values.items() if k in _KNOWN_FIELDS})
    return record


# --- clinical content -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Scenario:
    exam: str
    region: str
    ages: tuple[int, int]
    sex: str  # "F", "M" or "" for either
    mdt: str
    questions: tuple[str, ...]
    findings: tuple[str, ...]
    impressions: tuple[str, ...]
    outcomes: tuple[str, ...]
    learning: tuple[str, ...]


SCENARIOS = [
    _Scenario("[[CT abdomen and pelvis]]", "abdomen", (18, 60), "", "IBD MDT",
              ("Known [[Crohn's disease]] on [[infliximab]]. {lab}. ?stricture ?collection",
               "{age} with right iliac fossa pain for {reltime}. Background [[Crohn's disease]]."),
              ("Terminal ileal wall thickening of {mm} with mural hyperenhancement and a comb sign.",
               "No drainable collection. No free gas.",
               "Upstream small bowel dilatation to {cm} suggests a fibrotic stricture."),
              ("Active terminal ileal [[Crohn's disease]] with a short stricture; no abscess.",),
              ("Ileocaecal resection {reltime} later confirmed a fibrostenotic stricture.",),
              ("Always comment on upstream dilatation in [[Crohn's disease]]; "
               "[[MR enterography]] helps grade activity.",)),
    _Scenario("[[XR wrist]]", "msk", (50, 92), "", "Fracture clinic",
              ("FOOSH. {age} with dinner-fork deformity.", "Fall on outstretched hand {reltime} ago."),
              ("Dorsally angulated, impacted distal radial fracture in keeping with a [[Colles fracture]].",
               "Associated ulnar styloid avulsion. Scaphoid appears intact.",
               "Dorsal tilt measures [[20 degrees|25 degrees|15 degrees]] with {mm} of radial shortening."),
              ("[[Colles fracture]] with ulnar styloid avulsion.",),
              ("Manipulated in ED and followed up in fracture clinic at {reltime}.",),
              ("Measure radial height and tilt on every distal radial fracture.",)),
    _Scenario("[[MRI shoulder]]", "msk", (18, 40), "", "MSK MDT",
              ("Anterior dislocation reduced in ED {reltime} ago. ?labral injury",),
              ("[[Hill-Sachs defect]] of the posterolateral humeral head measuring {mm}.",
               "Anteroinferior labral detachment consistent with a [[Bankart lesion]].",
               "Rotator cuff tendons are intact."),
              ("[[Bankart lesion]] with an engaging [[Hill-Sachs defect]].",),
              ("Arthroscopic stabilisation at {reltime}.",),
              ("Look for the [[Hill-Sachs defect]] on the axial images at the level of the coracoid.",)),
    _Scenario("[[MRI knee]]", "msk", (16, 45), "", "MSK MDT",
              ("Twisting injury, effusion, giving way. ?ACL",),
              ("Small avulsion fragment from the lateral tibial rim: [[Segond fracture]].",
               "Complete ACL rupture. [[Baker's cyst]] measuring {cm}.",
               "Depressed lateral tibial plateau fragment, [[Schatzker II]], depressed by {mm}."),
              ("ACL rupture with a [[Segond fracture]].",),
              ("ACL reconstruction listed.",),
              ("A [[Segond fracture]] on the radiograph should prompt MRI for ACL injury.",)),
    _Scenario("[[CTPA]]", "chest", (25, 85), "", "Respiratory MDT",
              ("Pleuritic chest pain, tachycardia, [[Wells score 6|Wells score 4.5|Wells score 7]]. ?[[PE]]",),
              ("Filling defects in the right lower lobe segmental arteries in keeping with acute [[PE]].",
               "RV:LV ratio of {ratio}. No [[Kerley B lines]]. Contrast bolus [[312 HU|355 HU|410 HU]] in the "
               "main pulmonary artery.",
               "Incidental {mm} solid nodule in the right upper lobe; follow up per [[Fleischner criteria]]."),
              ("Acute segmental [[PE]] without right heart strain.",),
              ("Anticoagulated with [[apixaban]]; nodule stable at {reltime}.",),
              ("Review lung windows on every [[CTPA]], even when the question is [[PE]].",)),
    _Scenario("[[MRCP]]", "abdomen", (50, 85), "", "HPB MDT",
              ("Painless jaundice, weight loss. Bilirubin 180. ?obstruction",),
              ("Hilar stricture involving the confluence, suspicious for a [[Klatskin tumour]].",
               "Intrahepatic duct dilatation to {mm}. {mm} lesion in [[Couinaud segment VII]].",
               "Gallbladder is contracted. No choledocholithiasis."),
              ("Appearances suggest a [[Klatskin tumour]] (Bismuth IIIa).",),
              ("Brushings at [[ERCP]] confirmed cholangiocarcinoma.",),
              ("A hilar stricture without stones is a [[Klatskin tumour]] until proven otherwise.",)),
    _Scenario("[[CT chest]]", "chest", (50, 85), "", "Lung MDT",
              ("Smoker, right shoulder pain and Horner's syndrome.",),
              ("Right apical mass invading the chest wall with destruction of the first rib: [[Pancoast tumour]].",
               "Enlarged left supraclavicular node ([[Virchow node]]) measuring {mm}.",
               "Colonic interposition below the right hemidiaphragm ([[Chilaiditi sign]]), not free gas."),
              ("[[Pancoast tumour]] with nodal disease.",),
              ("Biopsy confirmed squamous cell carcinoma; [[SUV max 14.2|SUV max 9.8|SUV max 11.5]] "
               "on [[PET-CT]].",),
              ("Check the lung apices on every chest radiograph in shoulder pain.",)),
    _Scenario("[[MRI prostate]]", "pelvis", (50, 80), "M", "Urology MDT",
              ("[[PSA 12.4 ng/mL|PSA 8.1 ng/mL|PSA 22 ng/mL]], abnormal DRE.",),
              ("{mm} lesion in the left peripheral zone, [[PI-RADS 5]], abutting the capsule.",
               "No extraprostatic extension. Seminal vesicles are clear. No pelvic nodes.",
               "Prostate volume {ml}; PSA density 0.18."),
              ("[[PI-RADS 5]] left peripheral zone lesion.",),
              ("Template biopsy: [[Gleason 7]] (3+4) adenocarcinoma.",),
              ("Report the [[PI-RADS 5]] lesion's relation to the neurovascular bundle.",)),
    _Scenario("[[Mammography and breast ultrasound]]", "breast", (35, 80), "F", "Breast MDT",
              ("Palpable lump left breast {reltime}.",),
              ("Spiculated mass at 2 o'clock, [[M5]], with a {mm} hypoechoic correlate, [[U4]].",
               "Overall assessment [[BI-RADS 4]]. Axillary nodes are normal.",
               "On MRI the lesion is [[R3]] with washout kinetics."),
              ("[[M5]] [[U4]] lesion; core biopsy advised.",),
              ("Core biopsy showed grade 2 invasive ductal carcinoma; started [[tamoxifen]].",),
              ("Correlate the mammographic and ultrasound size and record both.",)),
    _Scenario("[[CT kidneys]]", "abdomen", (30, 80), "", "Urology MDT",
              ("Incidental renal cyst on ultrasound.",),
              ("{cm} left renal cyst with thin enhancing septa, [[Bosniak IIF]].",
               "Attenuation {hu} unenhanced; enhancement under 20 HU.",
               "No solid enhancing component. Ureters are not dilated."),
              ("[[Bosniak IIF]] cyst for surveillance.",),
              ("Stable at {reltime}.",),
              ("Measure enhancement in [[Hounsfield units]] on matched phases.",)),
    _Scenario("[[MRI liver]]", "abdomen", (40, 80), "", "HPB MDT",
              ("Cirrhosis, rising AFP. Surveillance.",),
              ("{mm} arterially enhancing observation in [[Couinaud segment VII]] without washout, [[LI-RADS 3]].",
               "Spleen {cm}. Small volume ascites. Patent portal vein.",
               "[[Gadolinium]] given without incident."),
              ("[[LI-RADS 3]] observation; repeat in {reltime}.",),
              ("Upgraded to LR-5 at follow up and treated with microwave ablation.",),
              ("Use the [[LI-RADS 3]] category honestly rather than over-calling.",)),
    _Scenario("[[US thyroid]]", "neck", (20, 75), "", "Thyroid MDT",
              ("Neck swelling.",),
              ("{mm} solid hypoechoic nodule with microcalcification, [[U4]], [[TI-RADS 4]].",
               "Background gland is normal in size. No cervical lymphadenopathy."),
              ("[[U4]] nodule; FNA advised.",),
              ("FNA Thy4; hemithyroidectomy performed.",),
              ("Microcalcification makes a nodule at least [[U4]].",)),
    _Scenario("[[US pelvis]]", "pelvis", (52, 82), "F", "Gynae-oncology MDT",
              ("Postmenopausal, pelvic pain. CA-125 raised.",),
              ("{cm} multilocular left adnexal lesion with a solid component, [[O-RADS 4|O-RADS 3]].",
               "Endometrial thickness {mm}. Small volume free fluid."),
              ("Adnexal lesion; gynae-oncology referral.",),
              ("Borderline serous tumour at laparoscopy.",),
              ("Use the lexicon and assign an [[O-RADS 3|O-RADS 4]] category in every adnexal report.",)),
    _Scenario("[[CT thorax low-dose screening]]", "chest", (55, 75), "", "Lung MDT",
              ("Lung screening round {small}.",),
              ("{mm} part-solid nodule in the left lower lobe, [[Lung-RADS 4A]].",
               "Mild centrilobular emphysema. Coronary calcification.",
               "Follow up per [[Fleischner criteria]] is not applicable in screening."),
              ("[[Lung-RADS 4A]] nodule; 3-month CT.",),
              ("Grew to {mm} and was resected.",),
              ("Report the solid component separately in part-solid nodules.",)),
    _Scenario("[[MRI lumbar spine]]", "spine", (25, 75), "", "Spinal MDT",
              ("Back pain with left leg radiculopathy for {reltime}.",),
              ("[[L4/5]] left paracentral disc protrusion contacting the traversing L5 nerve root.",
               "[[L5/S1]] disc desiccation. [[Schmorl's node]] at the inferior endplate of [[T12]].",
               "Old [[T12]] wedge fracture with {pct} height loss. [[C5-6]] not included."),
              ("[[L4/5]] disc protrusion with L5 root contact.",),
              ("Microdiscectomy at [[L4/5]].",),
              ("Count the levels from the sacrum and state the count method.",)),
    _Scenario("[[XR pelvis and hip]]", "msk", (66, 96), "", "Orthogeriatric meeting",
              ("Fall, shortened externally rotated leg.",),
              ("Displaced intracapsular neck of femur fracture, [[Garden IV]].",
               "Background [[Paget's disease]] of the right hemipelvis with cortical thickening.",
               "No pubic rami fracture."),
              ("[[Garden IV]] fracture; for arthroplasty.",),
              ("Hemiarthroplasty on day 2.",),
              ("Look at the whole pelvis: [[Paget's disease]] changes the surgical plan.",)),
    _Scenario("[[XR ankle]]", "msk", (16, 70), "", "Fracture clinic",
              ("Inversion injury, unable to weight bear.",),
              ("Oblique fibular fracture at the level of the syndesmosis, [[Weber B]].",
               "Medial clear space widened to {mm}.",
               "Widening between the first and second metatarsal bases: [[Lisfranc injury]]."),
              ("Unstable [[Weber B]] fracture.",),
              ("ORIF at {reltime}.",),
              ("Always check the midfoot for a [[Lisfranc injury]] on ankle films.",)),
    _Scenario("[[XR knee]]", "paeds", (6, 15), "", "Paediatric radiology meeting",
              ("Child with knee pain and limp.",),
              ("Fracture through the physis with a metaphyseal fragment, [[Salter-Harris II]].",
               "Fragmentation of the tibial tuberosity consistent with [[Osgood-Schlatter]].",
               "Flattened femoral epiphysis on the hip view: [[Perthes disease]]."),
              ("[[Salter-Harris II]] fracture.",),
              ("Treated in a cast for {reltime}.",),
              ("Image the hip in a child with knee pain: [[Perthes disease]] refers.",)),
    _Scenario("[[PET-CT]]", "oncology", (16, 40), "", "Lymphoma MDT",
              ("Staging [[Hodgkin lymphoma]].",),
              ("Avid mediastinal and left supraclavicular nodes, [[SUV max 8.2|SUV max 12.6|SUV max 6.4]].",
               "No splenic involvement. Deauville 5 in the largest node of {mm}.",
               "Administered activity 350 MBq; effective dose {dose}."),
              ("Stage IIA [[Hodgkin lymphoma]].",),
              ("Complete metabolic response after ABVD.",),
              ("Report Deauville scores for every [[Hodgkin lymphoma]] restaging scan.",)),
    _Scenario("[[XR forearm]]", "msk", (5, 60), "", "Fracture clinic",
              ("Fall onto forearm.",),
              ("Proximal ulnar fracture with radial head dislocation: [[Monteggia fracture]].",
               "Distal radial fracture with DRUJ disruption would be a [[Galeazzi fracture]]; "
               "the DRUJ is intact here."),
              ("[[Monteggia fracture]].",),
              ("Open reduction.",),
              ("Image the joint above and below every forearm fracture.",)),
    _Scenario("[[Barium swallow]]", "abdomen", (45, 85), "", "Upper GI MDT",
              ("Dysphagia, known [[Barrett's oesophagus]].",),
              ("Smooth {cm} stricture in the distal oesophagus.",
               "Small sliding hiatus hernia. [[Gastrografin]] not needed."),
              ("Peptic stricture on a background of [[Barrett's oesophagus]].",),
              ("Dilated at endoscopy.",),
              ("Compare with previous endoscopy reports.",)),
    _Scenario("[[CT trauma]]", "trauma", (16, 80), "", "Trauma meeting",
              ("RTC, [[Glasgow Coma Scale]] 13 on arrival.",),
              ("Splenic laceration {cm} deep, [[AAST grade III]], with perisplenic haematoma of {hu}.",
               "[[NG tube]] tip in the stomach. No pneumothorax.",
               "Scan performed at {kv}."),
              ("[[AAST grade III]] splenic injury.",),
              ("Managed conservatively.",),
              ("Report the injury grade using [[AAST grade III|AAST]] terminology.",)),
    _Scenario("[[Abdominal radiograph]]", "paeds", (1, 12), "", "Paediatric surgery MDT",
              ("Child with painless rectal bleeding. ?[[Meckel's diverticulum]]",),
              ("Non-specific bowel gas pattern. No renal mass to suggest a [[Wilms tumour]].",
               "Nuclear medicine scan recommended for [[Meckel's diverticulum]].",
               "[[Buscopan]] given for the follow-up study."),
              ("Normal radiograph; [[Meckel's diverticulum]] not excluded.",),
              ("Positive technetium scan; [[Meckel's diverticulum]] resected.",),
              ("A normal radiograph does not exclude a [[Meckel's diverticulum]].",)),
    _Scenario("[[MRI foot]]", "msk", (25, 65), "", "MSK MDT",
              ("Forefoot pain, worse in tight shoes.",),
              ("{mm} lesion in the third intermetatarsal space consistent with [[Morton's neuroma]].",
               "Lucent lesion with sclerotic rim in the distal tibial metaphysis: [[Brodie abscess]]."),
              ("[[Morton's neuroma]].",),
              ("Injection under ultrasound guidance.",),
              ("Scan the forefoot in the position that causes symptoms.",)),
]

GENERIC_FINDINGS = {
    "abdomen": ("[[Liver]] is normal in size with no focal lesion.", "[[Pancreas]] and adrenals are unremarkable.",
                "[[Kidneys]] enhance symmetrically.", "[[Bladder]] is decompressed.",
                "[[Aorta]] is of normal calibre."),
    "chest": ("[[Lungs]] are otherwise clear.", "[[Heart]] size is normal.", "[[Mediastinum]] is not widened.",
              "No pleural effusion. [[Bones]] intact."),
    "msk": ("[[Bones]] are of normal density.", "Soft tissues unremarkable.", "No joint effusion."),
    "pelvis": ("[[Bladder]] is well distended.", "No free fluid.", "Bony pelvis is unremarkable."),
    "breast": ("Contralateral breast is normal.", "No suspicious calcification."),
    "neck": ("Salivary glands are normal.", "[[Thyroid]] isthmus measures {mm}."),
    "spine": ("[[Conus]] terminates at [[L1]].", "Facet joint arthropathy at [[L4/5]] and [[L5/S1]]."),
    "paeds": ("[[Bones]] are otherwise normal for age.", "No joint effusion."),
    "oncology": ("[[Liver]] and [[spleen]] show physiological uptake.", "No marrow involvement."),
    "trauma": ("[[Liver]] is intact.", "[[Kidneys]] enhance normally.", "No spinal fracture."),
}
GENERAL = ("Appearances have progressed since the study of {reltime} ago.",
           "Patient on [[warfarin|apixaban|rivaroxaban|enoxaparin]].",
           "Roughly {frac} of the images are degraded by movement artefact.",
           "Seen in clinic on [[day 3 post-op|day 5 post-op]]; review in [[2/52|6/52]] and at [[6/12|3/12]].",
           "[[Dexamethasone]] started; repeat imaging in {reltime}.", "Symptoms for {reltime}.")
CROSS_SECTIONAL = ("Contrast: {ml} [[Omnipaque 350]] given at {time} without incident.",
                   "Renal function: [[eGFR 48|eGFR 62|eGFR 75]]; [[metformin]] withheld for [[48 hours]].",
                   "Approximately {pct} of the study is limited by body habitus.",
                   "Incidental degenerative change at {level}.",
                   "Incidental {mm} simple hepatic cyst of [[4 HU|9 HU|12 HU]].",
                   "Cardiothoracic ratio [[0.48|0.52|0.61]] on the scout view.")
LEVELS = ("L4/5", "C5-6", "T12", "L5/S1", "C6/7", "L3", "T4-T6", "S1")
RELTIMES = ("3 months", "48 hours", "6 weeks", "2 years", "10 days", "18 months", "1 week")


# --- writing --------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"\{(\w+)\}|\[\[(.+?)\]\]|<<(.+?)>>")


class _Writer:
    """Appends text piece by piece, so each planted identifier's span is known exactly."""

    def __init__(self, rng: random.Random, record: _Record, scenario: _Scenario) -> None:
        self.rng, self.r = rng, record
        self.chunks: list[str] = []
        self.length = 0
        self.planted: list[Planted] = []
        self.clinical: list[str] = []
        self.gp = _person(rng, ("Dr",))
        self.home = (random_address(rng), rng.choice(PLACES), random_postcode(rng))
        self.scenario = scenario
        self.used: set[str] = set()

    # primitives
    def text(self, s: str) -> None:
        self.chunks.append(s)
        self.length += len(s)

    def ident(self, kind: str, value: str, own: bool, before: str = "") -> None:
        self.text(before)
        self.planted.append(Planted(kind, self.length, self.length + len(value), value, own))
        self.text(value)

    def clin(self, term: str) -> None:
        self.clinical.append(term)
        self.text(term)

    def fill(self, template: str) -> None:
        """{slot} writes an identifier or a clinical value, [[a|b]] a clinical term, <<a|b>> plain words."""
        pos = 0
        for m in _TOKEN.finditer(template):
            self.text(template[pos:m.start()])
            if m.group(1):
                getattr(self, "slot_" + m.group(1))()
            elif m.group(2):
                self.clin(self.rng.choice(m.group(2).split("|")))
            else:
                self.text(self.rng.choice(m.group(3).split("|")))
            pos = m.end()
        self.text(template[pos:])

    def say(self, *templates: str) -> None:
        self.fill(self.rng.choice(templates))

    def fresh(self, pool: tuple[str, ...]) -> str:
        """A template from `pool` this report has not used yet, or "" when all have been."""
        left = [t for t in pool if t not in self.used]
        if not left:
            return ""
        choice = self.rng.choice(left)
        self.used.add(choice)
        return choice

    def own(self, field_name: str) -> bool:
        return field_name in self.r.own

    @property
    def words(self) -> int:
        return len("".join(self.chunks).split())

    # the record's people
    def _patient(self, header: bool) -> None:
        p, rng = self.r.patient, self.rng
        f, m, last = p.first, p.middle, p.last
        if not self.own("patient_name"):  # only where a title gives it away
            self.ident("patient", rng.choice((last, p.name, f"{f[0]} {last}", last.upper())), False, p.title + " ")
            return
        forms = [("", p.name), ("", f"{last}, {f}"), ("", f"{last.upper()}, {f}"), ("", p.name.upper()),
                 ("", f"{f[0]}. {last}"), ("", f"{f[0]} {last}"), (p.title + " ", p.name)]
        if self.r.patient_middle_known:
            forms += [("", f"{f} {m} {last}"), ("", f"{f} {m[0]} {last}"), ("", f"{f} {m[0]}. {last}"),
                      ("", f"{last}, {f} {m}"), ("", f"{last.upper()}, {f.upper()} {m.upper()}")]
        titled = [(p.title + " ", last), (p.title.upper() + " ", last.upper()), (p.title + " ", f"{f[0]} {last}")]
        if rng.random() < 0.08:  # the surname alone, as notes often have it: "ELLISON 72F", "Ellison was seen"
            forms = titled = [("", last), ("", last.upper())]
        before, value = rng.choice(forms if header or rng.random() < 0.5 else titled)
        self.ident("patient", value, True, before)

    def slot_pt(self) -> None:
        self._patient(header=False)

    def slot_pt_header(self) -> None:
        self._patient(header=True)

    def _clinician(self, kind: str, person: _Person, field_name: str) -> None:
        rng, own = self.rng, self.own(field_name)
        forms = [(person.title + " ", person.name), (person.title + " ", person.last),
                 (person.title + " ", f"{person.first[0]} {person.last}"),
                 (person.title + " ", f"{person.first[0]}. {person.last}")]
        if own:
            forms += [("", person.name), (person.title.upper() + " ", person.name.upper()),
                      ("", f"{person.last}, {person.first}")]
        before, value = rng.choice(forms)
        self.ident(kind, value, own, before)

    def slot_reporter(self) -> None:
        self._clinician("reporter", self.r.reporter, "reporter_name")

    def slot_referrer(self) -> None:
        self._clinician("referrer", self.r.referrer, "referrer_name")

    # the record's numbers, dates and site
    def slot_dob(self) -> None:
        self.ident("date_of_birth", format_date(self.r.dob, self.rng), self.own("date_of_birth"))

    def slot_exam_date(self) -> None:
        own = self.own("examination_date")
        self.ident("examination_date" if own else "date", format_date(self.r.exam, self.rng), own)

    def slot_nhs(self) -> None:
        self.ident("nhs_number", format_nhs(self.r.nhs, self.rng), self.own("nhs_number"))

    def slot_hosp(self) -> None:
        value, own = self.r.hospital_number, self.own("hospital_number")
        split = re.match(r"([A-Z]+)(\d+)$", value)
        if own and split and self.rng.random() < 0.2:
            value = f"{split[1]} {split[2]}"
        self.ident("hospital_number", value, own)

    def slot_acc(self) -> None:
        self.ident("accession_number", self.r.accession, self.own("accession_number"))

    def slot_site(self) -> None:
        own, site, rng = self.own("site_name"), self.r.site, self.rng
        if own and self.own("site_code") and len(self.r.site_code) >= 3 and rng.random() < 0.15:
            self.ident("site", self.r.site_code, True)
        else:
            self.ident("site", site.upper() if own and rng.random() < 0.15 else site, own)

    # identifiers the record does not name
    def slot_date(self) -> None:
        """An earlier date: a previous study, a past admission."""
        self.ident("date", format_date(self.r.exam - timedelta(days=self.rng.randint(1, 900)), self.rng), False)

    def slot_later(self) -> None:
        """A later date: an addendum, a meeting, a transfer."""
        self.ident("date", format_date(self.r.exam + timedelta(days=self.rng.randint(0, 120)), self.rng), False)

    def slot_other_nhs(self) -> None:
        self.ident("nhs_number", format_nhs(random_nhs(self.rng), self.rng), False)

    def slot_other_id(self) -> None:
        self.ident("id", random_id(self.rng), False)

    def slot_hospital(self) -> None:
        self.ident("site", random_hospital(self.rng), False)

    def slot_surgery(self) -> None:
        """A GP practice: where the patient lives, near enough to count as a site."""
        name = self.rng.choice(SURGERIES)
        self.ident("site", name, False, "The " if name.startswith("Limes") else "")

    def slot_postcode(self) -> None:
        self.ident("postcode", random_postcode(self.rng), False)

    def slot_phone(self) -> None:
        self.ident("phone", random_phone(self.rng), False)

    def slot_email(self) -> None:
        person = _person(self.rng, ("Dr",))
        self.ident("email", random_email(self.rng, person.first, person.last), False)

    def slot_reporter_email(self) -> None:
        p = self.r.reporter
        self.ident("email", random_email(self.rng, p.first, p.last), False)

    def slot_address(self) -> None:
        self.ident("address", random_address(self.rng), False)

    def slot_home(self) -> None:
        """The patient's own address, the same each time: "14 Acacia Avenue, Northgate NG7 2UH"."""
        address, town, postcode = self.home
        self.ident("address", address, False)
        self.text(f", {town}{self.rng.choice((' ', ', '))}")
        self.ident("postcode", postcode, False)

    def slot_exam(self) -> None:
        self.fill(self.scenario.exam)

    def slot_mdt(self) -> None:
        self.text(self.scenario.mdt)

    def slot_town(self) -> None:
        # Not planted: a town alone is not a personal identifier here, and the tests would need a gazetteer.
        self.text(self.rng.choice(PLACES))

    def slot_doctor(self) -> None:
        p = _person(self.rng, ("Dr", "Dr", "Mr", "Ms", "Prof", "Prof.", "Miss", "Mrs"))
        value = self.rng.choice((p.name, p.last, f"{p.first[0]} {p.last}", f"{p.first[0]}. {p.last}"))
        self.ident("name", value, False, p.title + " ")

    def slot_staff(self) -> None:
        p = _person(self.rng, ("Sister", "Nurse", "Dr", "Mr", "Mrs", "Ms"))
        self.ident("name", self.rng.choice((p.last, p.name)), False, p.title + " ")

    def slot_gp(self) -> None:
        self.ident("name", self.rng.choice((self.gp.name, self.gp.last, f"{self.gp.first[0]} {self.gp.last}")),
                   False, "Dr ")

    def slot_gp_surname(self) -> None:
        self.ident("name", self.gp.last, False)

    def slot_relative(self) -> None:
        """A relative named after a role phrase rather than a title: "daughter Sarah", "husband (Tom Hill)"."""
        rng = self.rng
        role = rng.choice(("daughter", "son", "husband", "wife", "next of kin"))
        female = role in ("daughter", "wife") or (role == "next of kin" and rng.random() < 0.5)
        p = _person(rng, ("Ms",) if female else ("Mr",), female)
        value = p.name if role == "next of kin" else rng.choice((p.first, p.name))
        shape = rng.randrange(3)
        self.ident("name", value, False, (f"{role} ", f"{role}, ", f"{role} (")[shape])
        self.text(("", ",", ")")[shape])

    def slot_contact(self) -> None:
        """A sentence naming someone after "discussed with" or "spoke to", with or without a title."""
        rng = self.rng
        p = _person(rng, ("Dr", "Ms", "Mr", "Sister", "Nurse"))
        before, after = rng.choice((("Discussed with ", " at {time}."),
                                    ("Spoke to ", ", who will arrange follow-up."),
                                    ("Findings discussed with ", " by telephone."),
                                    ("Result phoned through; spoke to ", ".")))
        if rng.random() < 0.5:
            self.ident("name", rng.choice((p.name, p.last)), False, f"{before}{p.title} ")
        else:
            self.ident("name", p.name, False, before)
        self.fill(after)

    def slot_signed(self) -> None:
        """A name after "reported by" or "verified by", often without a title."""
        rng = self.rng
        p = _person(rng, ("Dr", "Dr", "Prof"))
        phrase = rng.choice(("Reported by", "Verified by", "reported by", "verified by"))
        if rng.random() < 0.4:
            self.ident("name", p.name, False, f"{phrase} {p.title} ")
        else:
            self.ident("name", p.name, False, f"{phrase} ")

    # clinical values that must survive
    def slot_mm(self) -> None:
        self.clin(f"{self.rng.randint(2, 45)} mm")

    def slot_cm(self) -> None:
        r = self.rng
        self.clin(r.choice((f"{r.randint(1, 9)}.{r.randint(1, 9)} cm",
                            f"{r.randint(1, 9)}.{r.randint(1, 9)} x {r.randint(1, 6)}.{r.randint(1, 9)} cm")))

    def slot_hu(self) -> None:
        self.clin(f"{self.rng.randint(20, 70)} HU")

    def slot_ml(self) -> None:
        self.clin(f"{self.rng.choice((35, 48, 60, 120, 200))} mL")

    def slot_dose(self) -> None:
        self.clin(self.rng.choice(("5 mSv", "2.4 mSv", "7.1 mSv", "0.02 mSv")))

    def slot_kv(self) -> None:
        self.clin(self.rng.choice(("120 kV", "100 kV", "80 kVp")))

    def slot_level(self) -> None:
        self.clin(self.rng.choice(LEVELS))

    def slot_reltime(self) -> None:
        self.clin(self.rng.choice(RELTIMES))

    def slot_pct(self) -> None:
        self.clin(f"{self.rng.randint(5, 95)}%")

    def slot_time(self) -> None:
        self.clin(f"{self.rng.randint(0, 23):02d}:{self.rng.randint(0, 59):02d}")

    def slot_clock(self) -> None:
        self.text(f"{self.rng.randint(0, 23):02d}:{self.rng.randint(0, 59):02d}")

    def slot_frac(self) -> None:
        self.clin(self.rng.choice(("2/3", "1/3", "3/4", "1/2")))

    def slot_ratio(self) -> None:
        self.clin(self.rng.choice(("1.2", "0.9", "1:1.4", "1.1")))

    def slot_small(self) -> None:
        self.text(str(self.rng.randint(1, 4)))

    def slot_lab(self) -> None:
        self.clin(self.rng.choice(("CRP 87", "CRP 142 mg/L", "Hb 98 g/L", "WCC 14.2")))

    def _years(self) -> int:
        r = self.r
        return r.exam.year - r.dob.year - ((r.exam.month, r.exam.day) < (r.dob.month, r.dob.day))

    def slot_age(self) -> None:
        years, female = self._years(), self.r.patient.title in ("Mrs", "Ms", "Miss")
        noun = ("girl" if female else "boy") if years < 16 else ("woman" if female else "man")
        self.clin(self.rng.choice((f"{years}-year-old", f"{years}{'F' if female else 'M'}", f"{years} yo",
                                   f"{years}-year-old {noun}")))

    def slot_age_adj(self) -> None:
        self.clin(f"{self._years()}-year-old")


# --- styles ---------------------------------------------------------------------------------------------

TECHNIQUES = {
    "CT": ("Axial images through the region with multiplanar reformats after intravenous contrast. {kv}, "
           "effective dose {dose}.", "Portal venous phase CT. [[DLP 412 mGy.cm|DLP 388 mGy.cm]], {dose}."),
    "MR": ("Sagittal and axial T1, T2 and STIR sequences with DWI.", "Multiparametric MRI at 3T including DWI."),
    "XR": ("AP and lateral views at {kv}.", "Standard views. No previous films for comparison."),
    "US": ("Grey-scale and colour Doppler ultrasound.", "High-frequency linear probe, Doppler interrogation."),
    "other": ("Standard departmental protocol.", "Study performed by a senior radiographer."),
}
COMPARISONS = ("None available.", "{hospital} study of {date}.", "Previous study dated {date}.",
               "CT of {date}, accession {other_id}.", "Outside imaging from {hospital}, {date}.")
RECOMMENDATIONS = ("Recommend follow-up imaging in {reltime}.", "Suggest discussion at the {mdt}.",
                   "Clinical correlation is advised.", "Referral on the two-week-wait pathway is suggested.",
                   "No further imaging is needed.", "Please re-refer if symptoms persist beyond {reltime}.")


def _modality(sc: _Scenario) -> str:
    words = sc.exam.strip("[]")
    for prefix, key in (("CT", "CT"), ("MRI", "MR"), ("MRCP", "MR"), ("PET-CT", "CT"), ("XR", "XR"),
                        ("US", "US"), ("Abdominal radiograph", "XR"), ("Mammography", "XR")):
        if words.startswith(prefix):
            return key
    return "other"


def _findings(w: _Writer, sc: _Scenario, count: int) -> None:
    """A few of the scenario's findings, normal anatomy and a general remark, in a shuffled order."""
    rng = w.rng
    general = GENERAL + CROSS_SECTIONAL if _modality(sc) in ("CT", "MR") else GENERAL
    others = [w.fresh(GENERIC_FINDINGS[sc.region]) for _ in range(3)] + [w.fresh(general) for _ in range(2)]
    # Stress precision: put the clinical phrase that one of this report's surnames collides with nearby.
    for person in (w.r.patient, w.r.reporter, w.r.referrer):
        if person.last in COLLISIONS and COLLISIONS[person.last] not in w.used and rng.random() < 0.4:
            w.used.add(COLLISIONS[person.last])
            others.append(COLLISIONS[person.last])
    rng.shuffle(others)
    for sentence in filter(None, [w.fresh(sc.findings) for _ in range(count)] + others):
        w.fill(sentence + " ")


def _header(w: _Writer) -> None:
    lines = [
        "<<Patient:|Name:|Patient name:|Pt:>> {pt_header}\n",
        "<<DOB:|D.O.B.|Date of birth:|DoB>> {dob}\n",
        "<<NHS No:|NHS number:|NHS:|NHS no.>> {nhs}\n",
        "<<Hospital No:|MRN:|Hosp no.|Unit number:>> {hosp}\n",
        "<<Accession:|Acc no:|Accession number:>> {acc}\n",
        "<<Referrer:|Requested by:|Referring clinician:>> {referrer}\n",
        "<<Site:|Location:|Performed at:>> {site}\n",
    ]
    for i in sorted(w.rng.sample(range(len(lines)), w.rng.randint(4, len(lines)))):
        w.fill(lines[i])


def style_report(w: _Writer, sc: _Scenario) -> None:
    _header(w)
    w.fill("Examination: {exam} <<on|dated|performed>> {exam_date}\n\n")
    w.fill("<<Clinical details:|Clinical information:|History:>> ")
    w.say(*sc.questions)
    w.fill("\n\nComparison: ")
    w.say(*COMPARISONS)
    w.fill("\n\nTechnique: ")
    w.say(*TECHNIQUES[_modality(sc)])
    w.fill("\n\nFindings:\n")
    _findings(w, sc, 3)
    w.fill("\n\n<<Impression:|Conclusion:|Opinion:>> ")
    w.say(*sc.impressions)
    w.fill(" ")
    w.say(*RECOMMENDATIONS)
    w.say(" Discussed with {doctor} at {time}.", " {contact}", "")
    w.fill("\n\n<<Reported by:|Reported by|Dictated by>> {reporter}, Consultant Radiologist, {exam_date}\n")
    if w.rng.random() < 0.4:
        w.fill("Verified by {doctor} on {later}.\n")


def style_prose(w: _Writer, sc: _Scenario) -> None:
    w.say("{pt} ({age}) attended {site} on {exam_date} for {exam}. ",
          "On {exam_date} {pt}, a {age_adj} patient, had {exam} at {site}. ",
          "{exam} was requested by {referrer} for {pt}, NHS number {nhs}, and performed on {exam_date}. ")
    w.fill("The clinical question was: ")
    w.say(*sc.questions)
    w.fill(" ")
    w.say("The study was compared with imaging from {hospital} dated {date}. ", "There was no prior imaging. ")
    w.fill("\n\n")
    _findings(w, sc, 3)
    w.fill("\n\nIn summary: ")
    w.say(*sc.impressions)
    w.fill(" ")
    w.say(*RECOMMENDATIONS)
    w.say(" The report was issued by {reporter}. {contact}",
          " {signed} on {later}.",
          " {reporter} reported the study and reviewed the previous scan from {hospital}.")
    w.say(" {pt}'s {relative} was present and asked for a copy to be sent to the GP, {gp}.",
          " Hospital number {hosp}; DOB {dob}.", " The ward can be reached on {phone}.")


def style_mdt(w: _Writer, sc: _Scenario) -> None:
    w.fill(f"{sc.mdt} {{later}}\n")
    w.fill("{pt_header} {age} <<NHS|NHS no|NHS#>> {nhs} <<MRN|Hosp|H/no>> {hosp}\nHx: ")
    w.say(*sc.questions)
    w.fill("\n{exam} ({exam_date}, {site}): ")
    _findings(w, sc, 3)
    w.fill("\nRad review ({reporter}): ")
    w.say(*sc.impressions)
    w.fill("\nOutcome: ")
    w.say(*sc.outcomes)
    w.fill("\nPlan: <<discuss at|refer to|repeat imaging at>> {hospital}. ")
    w.say(*RECOMMENDATIONS)
    w.fill(" ")
    w.say("Letter to GP {gp} ({phone}).", "{pt} aware, {relative} to be updated.",
          "Actions: {doctor} to book; {signed}.")
    w.fill("\nPresent: {doctor}, {doctor}, {staff}.\n")


def style_addendum(w: _Writer, sc: _Scenario) -> None:
    w.fill("{exam} {exam_date} <<Acc|Accession>> {acc}\n<<Clinical details:|History:>> ")
    w.say(*sc.questions)
    w.fill("\n\n")
    _findings(w, sc, 3)
    w.fill("\n\n")
    w.say(*sc.impressions)
    w.fill(" ")
    w.say(*RECOMMENDATIONS)
    w.fill("\n{reporter}\n\n")
    # A time glued to a date is part of a timestamp, so it is written but not counted as clinical.
    w.say("ADDENDUM ({later} at {time}): ", "ADDENDUM - {later} {clock} - ", "Addendum {later}: ")
    w.say("Discussed with {doctor} (on-call registrar) at {time}, who will inform {pt}.",
          "Case reviewed with {doctor}; findings relayed to {staff} on the ward.", "{contact}",
          "Telephoned to {referrer}'s secretary on {phone}.")
    w.fill(" On review: ")
    w.fill(w.fresh(sc.findings) or "no change to the conclusion.")
    w.fill(" ")
    w.say(*sc.outcomes)
    w.fill(" {reporter}\n")


def style_outcome(w: _Writer, sc: _Scenario) -> None:
    w.fill("Case summary: {age}, ")
    w.say(*sc.questions)
    w.fill(" Original report ({exam_date}, {reporter}, {site}): ")
    w.say(*sc.impressions)
    w.fill("\n\nOutcome: ")
    w.say(*sc.outcomes)
    w.say(" Patient transferred to {hospital} on {later}.", " Seen by {doctor} in clinic on {later}.",
          " {pt} was reviewed at {hospital}; {relative} present.")
    w.fill("\n\nDiscussion: ")
    _findings(w, sc, 3)
    w.fill("\n\nLearning points:\n- ")
    w.say(*sc.learning)
    w.fill("\n- <<Compare with prior imaging|Read the request card twice|Review the whole field of view>>.\n- ")
    w.say(*RECOMMENDATIONS)
    w.fill("\n")
    w.say("Submitted by {doctor}, {email}\n", "{signed}, {email}\n")


def style_question(w: _Writer, sc: _Scenario) -> None:
    w.fill("<<Clinical question:|Question for the meeting:|Reason for referral:>> ")
    w.say(*sc.questions)
    w.say(" Referred by {referrer} at {site}.", " {pt} was referred by {referrer}.")
    w.fill(" Previous imaging at {hospital} on {date} (ref {other_id}).\n\nWhat the report said: ")
    _findings(w, sc, 3)
    w.fill("\n\nWhy it matters: ")
    w.say(*sc.learning)
    w.fill(" ")
    w.say("Note a different NHS number, {other_nhs}, on the old request card; checked and corrected.",
          "Old MRN {other_id} merged.", "Prior accession {other_id}.")
    w.fill(" Contact <<the submitter|me|the registrar>> on {phone} or {email}.")
    w.say(" GP: {gp}, {postcode}.", " {contact}", "")


def style_letter(w: _Writer, sc: _Scenario) -> None:
    w.fill("{site}\nDepartment of Clinical Radiology\n{address}\n{town} {postcode}\nTel: {phone}\n\n{later}\n\n")
    w.fill("{gp}\n{surgery}\n{address}\n{town}\n{postcode}\n\n")
    w.fill("Dear Dr {gp_surname},\n\nRe: {pt_header}, <<DOB|D.O.B.|born>> {dob}, NHS <<number|No>> {nhs}\n")
    w.fill("{home}\n\n")
    w.fill("Thank you for referring this patient for {exam}, performed on {exam_date}. ")
    _findings(w, sc, 2)
    w.say(*sc.impressions)
    w.fill(" ")
    w.say(*RECOMMENDATIONS)
    w.fill(" I spoke to {pt} and {relative} by telephone on {phone}. ")
    w.fill("Please contact me on {phone} or {reporter_email} with any questions.\n\nYours sincerely,\n\n")
    w.fill("{reporter}\nConsultant Radiologist\n\ncc: {pt}, {home}\n")


STYLES = {"report": style_report, "prose": style_prose, "mdt": style_mdt, "addendum": style_addendum,
          "outcome": style_outcome, "question": style_question, "letter": style_letter}


def generate_one(seed: int, index: int) -> SyntheticReport:
    """The `index`th report for `seed`; the same whatever else is generated."""
    rng = random.Random(f"synthetic-report:{seed}:{index}")
    scenario = rng.choice(SCENARIOS)
    record = _record(rng, scenario)
    style = rng.choice(sorted(STYLES))
    for _ in range(50):  # the first draft of the right length, 100 to 300 words
        w = _Writer(rng, record, scenario)
        STYLES[style](w, scenario)
        if 100 <= w.words <= 300:
            break
    return SyntheticReport("".join(w.chunks), record.known, w.planted, w.clinical, style)


def generate(n: int, seed: int = 0) -> list[SyntheticReport]:
    return [generate_one(seed, i) for i in range(n)]


# --- scoring --------------------------------------------------------------------------------------------

def _covered(findings) -> tuple[list[int], list[int]]:
    """Merged [start, end) intervals of a scrubber's findings."""
    merged: list[list[int]] = []
    for f in sorted(findings, key=lambda f: (f.start, f.end)):
        if merged and f.start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], f.end)
        else:
            merged.append([f.start, f.end])
    return [a for a, _ in merged], [b for _, b in merged]


def _inside(spans: tuple[list[int], list[int]], start: int, end: int) -> bool:
    starts, ends = spans
    i = bisect_right(starts, start) - 1
    return i >= 0 and ends[i] >= end


# A term's occurrence is a whole token: not inside a word ("PE" in "PEARSON") nor inside a longer
# number ("6/12" in "6/12/2020", "1.5 cm" in "11.5 cm").
_BEFORE = r"(?<![^\W_])(?<![^\W_][/.:-])"
_AFTER = r"(?![^\W_])(?![/.:-][^\W_])"


def _occurrences(text: str, term: str) -> list[int]:
    return [m.start() for m in re.finditer(_BEFORE + re.escape(term) + _AFTER, text)]


def _touched(spans: tuple[list[int], list[int]], start: int, end: int) -> bool:
    return any(a < end and start < b for a, b in zip(*spans))


def _in_planted(report: SyntheticReport, start: int, end: int) -> bool:
    return any(p.start < end and start < p.end for p in report.planted)


def caught(report: SyntheticReport, result, planted: Planted, spans=None) -> bool:
    """Every character of the identifier is inside a finding, and its value is gone from the output.

    "Gone" allows the copies of the value that no finding covers: "Hill" may stay in a kept "Hill-Sachs
    defect" after Dr Hill has been removed, and a second, missed copy of an address is its own miss.
    """
    spans = spans or _covered(result.findings)
    if not _inside(spans, planted.start, planted.end):
        return False
    size = len(planted.value)
    left = sum(not _inside(spans, m.start(), m.start() + size)
               for m in re.finditer(re.escape(planted.value), report.text))
    return result.text.count(planted.value) <= left


def clinical_kept(report: SyntheticReport, result, term: str, spans=None) -> bool:
    """The term appears in the output exactly as often as in the input, less the copies that were part
    of a planted identifier and touched by a finding ("6/12" inside a removed date "6/12/2020")."""
    spans = spans or _covered(result.findings)
    size = len(term)
    expected = sum(not (_in_planted(report, at, at + size) and _touched(spans, at, at + size))
                   for at in _occurrences(report.text, term))
    return len(_occurrences(result.text, term)) == expected


def context(text: str, start: int, end: int, width: int = 50) -> str:
    """The text around [start, end), the span itself marked »so«, on one line."""
    snippet = f"{text[max(0, start - width):start]}»{text[start:end]}«{text[end:end + width]}"
    return snippet.replace("\n", " ⏎ ")


@dataclass(frozen=True)
class Miss:
    report: int
    style: str
    kind: str
    own: bool
    value: str
    context: str

    def __str__(self) -> str:
        kind = f"{self.kind} (own)" if self.own else self.kind
        return f"#{self.report} {self.style:<8} {kind} {self.value!r}: {self.context}"


@dataclass(repr=False)
class Score:
    identifiers: int = 0
    caught: int = 0
    own: int = 0
    own_caught: int = 0
    clinical: int = 0  # distinct clinical terms per report
    clinical_kept: int = 0
    findings: int = 0
    spurious: int = 0  # findings that touch no planted identifier: over-scrubbing, clinical or not
    by_kind: Counter = field(default_factory=Counter)
    caught_by_kind: Counter = field(default_factory=Counter)
    misses: list[Miss] = field(default_factory=list)
    clinical_losses: list[Miss] = field(default_factory=list)
    spurious_examples: list[Miss] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.caught / self.identifiers if self.identifiers else 1.0

    @property
    def own_recall(self) -> float:
        return self.own_caught / self.own if self.own else 1.0

    @property
    def clinical_kept_rate(self) -> float:
        return self.clinical_kept / self.clinical if self.clinical else 1.0

    def __repr__(self) -> str:
        return (f"Score(recall={self.recall:.4f}, own_recall={self.own_recall:.4f}, "
                f"clinical_kept={self.clinical_kept_rate:.4f}, identifiers={self.identifiers})")

    def recall_by_kind(self) -> dict[str, float]:
        """Recall for each kind, the record's own identifiers apart from others of the same kind."""
        return {k: round(self.caught_by_kind[k] / n, 4) for k, n in sorted(self.by_kind.items())}


def score(reports: list[SyntheticReport], results: list) -> Score:
    """Measure `results` (what `scrub` returned for each report, in order) against what was planted."""
    s = Score()
    for i, (report, result) in enumerate(zip(reports, results, strict=True)):
        spans = _covered(result.findings)
        for p in report.planted:
            ok = caught(report, result, p, spans)
            label = f"{p.kind} (own)" if p.own else p.kind
            s.identifiers += 1
            s.caught += ok
            s.own += p.own
            s.own_caught += ok and p.own
            s.by_kind[label] += 1
            s.caught_by_kind[label] += ok
            if not ok:
                where = context(report.text, p.start, p.end)
                s.misses.append(Miss(i, report.style, p.kind, p.own, p.value, where))
        for term in dict.fromkeys(report.clinical):
            ok = clinical_kept(report, result, term, spans)
            s.clinical += 1
            s.clinical_kept += ok
            if not ok:
                at = next((x for x in _occurrences(report.text, term)
                           if not _in_planted(report, x, x + len(term))), 0)
                s.clinical_losses.append(Miss(i, report.style, "clinical", False, term,
                                              context(report.text, at, at + len(term))))
        for f in result.findings:
            s.findings += 1
            if not any(p.start < f.end and f.start < p.end for p in report.planted):
                s.spurious += 1
                s.spurious_examples.append(Miss(i, report.style, f.kind, False, report.text[f.start:f.end],
                                                context(report.text, f.start, f.end, 30)))
    return s
