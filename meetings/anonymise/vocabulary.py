"""Word lists the text scrubber consults: what introduces a name, and what is never one."""
from __future__ import annotations

TITLES = ("Mr", "Mrs", "Ms", "Miss", "Mx", "Dr", "Doctor", "Prof", "Professor", "Sister", "Sr", "Nurse", "Rev",
          "Reverend", "Sir", "Dame", "Lady", "Lord", "Master", "Matron")

# Phrases after which a capitalised word is a person: "discussed with Karen", "daughter (Karen Hill)".
ROLE_PHRASES = (
    "discussed with", "d/w", "spoke to", "spoke with", "spoken to", "speaking to", "talked to", "talked with",
    "reported by", "verified by", "authorised by", "authorized by", "dictated by", "typed by", "transcribed by",
    "seen by", "reviewed by", "examined by", "scanned by", "performed by", "requested by", "referred by",
    "signed by", "electronically signed by", "approved by", "checked by", "second read by", "double reported by",
    "handed over to", "escalated to", "informed", "phoned", "telephoned", "rang", "contacted", "emailed",
    "copied to", "cc", "attn", "dear", "under the care of", "care of", "c/o", "known to",
    "daughter", "son", "husband", "wife", "partner", "mother", "mum", "father", "dad", "brother", "sister",
    "niece", "nephew", "grandson", "granddaughter", "aunt", "uncle", "carer", "friend", "neighbour",
    "next of kin", "nok", "gp", "consultant", "registrar", "radiologist", "radiographer", "sonographer",
    "surgeon", "physician", "clinician", "colleague", "reporter", "referrer", "referring clinician",
    "patient", "pt", "patient name", "name", "signed", "signature", "contact",
    "hi", "hello", "hey", "morning", "good morning", "afternoon", "good afternoon", "evening", "chair", "verified",
    "obtained by", "consent obtained by", "cns", "nurse specialist", "midwife", "community midwife",
    "health visitor", "physiotherapist", "coordinator", "secretary", "team", "baby of", "mother of",
    "brother in law", "sister in law", "mother in law", "father in law", "son in law", "daughter in law",
    "stepson", "stepdaughter", "grandmother", "grandfather", "cousin", "fiance", "fiancee", "girlfriend",
    "boyfriend", "relayed to", "phoned to", "faxed to", "sent to", "passed to", "handed to",
    "surname", "forename", "forenames", "first name", "given name", "given names", "middle name", "family name",
    "submitted by", "case submitted by", "courtesy of", "case courtesy of", "presented by", "telephoned to",
    "report by", "original report by", "req by", "discuss with", "call", "please call", "pls call", "ref",
)

# Roles a name may be followed by, in brackets or after a comma: "Karen Hill (daughter)".
TRAILING_ROLES = ("daughter", "son", "husband", "wife", "partner", "mother", "father", "brother", "sister",
                  "niece", "nephew", "carer", "friend", "neighbour", "next of kin", "nok", "gp", "patient")

# Relatives: after these, even a word-like name is a person ("wife May", "daughter Hope").
FAMILY = frozenset({"daughter", "son", "husband", "wife", "partner", "mother", "mum", "father", "dad", "brother",
                    "sister", "niece", "nephew", "grandson", "granddaughter", "aunt", "uncle", "carer", "nok",
                    "next of kin", "stepson", "stepdaughter", "grandmother", "grandfather", "cousin", "fiance",
                    "fiancee", "girlfriend", "boyfriend"})

# Greetings: "Hi Mark" greets a person, however word-like the name.
GREETINGS = frozenset({"hi", "hello", "hey", "dear", "morning", "good morning", "afternoon", "good afternoon",
                       "evening"})

# Departments in brackets after a person in an attendance list: "Guy Hargreaves (radiology)".
DEPARTMENTS = ("radiology", "oncology", "surgery", "surgical", "urology", "pathology", "histopathology", "gastro",
               "gastroenterology", "respiratory", "cardiology", "haematology", "neurology", "neurosurgery",
               "breast", "colorectal", "upper gi", "hpb", "ent", "maxfax", "plastics", "orthopaedics", "ortho",
               "paediatrics", "obstetrics", "gynaecology", "rheumatology", "nephrology", "renal", "vascular",
               "ed", "emergency", "radiotherapy", "palliative care", "nuclear medicine", "cytology", "medicine")

# Jobs named in brackets after a person: "J. Mulvihill (radiographer)", "STERLING R (Dr)".
TRAILING_JOBS = ("dr", "consultant", "radiologist", "registrar", "radiographer", "sonographer", "coordinator",
                 "secretary", "cns", "nurse", "physio", "physiotherapist", "midwife", "surgeon", "physician",
                 "reporter", "referrer", "fellow", "trainee", "spr", "sho", "gp", "on-call", "oncall")

# Capitalised words that follow a title or a role phrase without being a name ("discussed with Urology").
NOT_A_NAME = frozenset("""
the a an and or of to in on at for with by from re regarding about as is was were be been has had have
would could should can might must this that these those today tonight yesterday tomorrow please thanks thank
who which whom he she they we i it his her their our my your its him them us no not yes all any each both
team teams same other another further later also there here then than when where what how why if but so
consultant consultants radiologist radiologists radiographer radiographers sonographer sonographers registrar
registrars spr str st1 st2 st3 st4 st5 fy1 fy2 sho surgeon surgeons physician physicians nurse nurses staff
on-call oncall reporter referrer clinician clinicians colleague colleagues patient patients family relative
relatives doctor doctors gp gps trainee trainees fellow fellows locum duty lead chief
radiology surgery surgical medicine medical oncology urology orthopaedics orthopaedic orthopaedic ortho
respiratory cardiology cardiac gastroenterology gastro haematology neurology neurosurgery neurosurgical
paediatrics paediatric obstetrics gynaecology ent ophthalmology vascular breast colorectal upper lower gi
hepatobiliary hpb renal nephrology rheumatology dermatology endocrinology stroke trauma emergency ed ae a&e
icu itu hdu ward wards department dept clinic theatre theatres mdt mdm microbiology pathology histology
histopathology cytology pharmacy physio physiotherapy acute general nuclear interventional ir ct mri mr us xr
pet nm dexa imaging pacs ris reporting ultrasound fluoroscopy mammography screening maxfax plastics
hospital hospitals trust board unit service services governance risk safety datix incident
monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri sat sun
left right bilateral normal abnormal findings impression conclusion report reports clinical history
comparison technique opinion addendum summary outcome learning note notes discussion plan action actions
brain abdomen pelvis spine cervical thoracic lumbar kidneys lungs thorax cxr axr ctpa mrcp ctca ctc pe echo ecg
bloods
contrast consent amu sau cdu ccu eau mau sdec ambulatory urgent routine
dob d.o.b nhs mrn hosp ref tel age aged yo address postcode dod crn pid id no number tel mob email
endocrine msk neuro paeds neonatal partner partners baby known new old previous prior recent initial repeat
follow follow-up all everyone both colleagues thanks gmc hcpc nmc referral referrals beacopp abvd chop r-chop
title sex gender ward unit exam examination accession hospital
folfox folfiri capox ec flot ac
""".split())

# Words that are names as often as not (June, Will, Head, Hand): one of them alone after a weak cue such as
# "discussed with" is not taken for a person, but "wife June Evans" and "Dr Hand" are.
NAME_LIKE_WORDS = frozenset("""
january february march april may june july august september october november december
jan feb mar apr jun jul aug sep sept oct nov dec will mark head neck chest hand foot liver kidney lung heart
bowel colon knee hip shoulder wrist ankle elbow back skin bone
""".split())

# Clinical head nouns that make "Capitalised word + noun" an eponym, not a person: "Baker's cyst".
EPONYM_HEADS = (
    "disease", "diseases", "fracture", "fractures", "cyst", "cysts", "lesion", "lesions", "defect", "sign",
    "signs", "tumour", "tumor", "lymphoma", "sarcoma", "oesophagus", "esophagus", "node", "nodes", "neuroma",
    "diverticulum", "syndrome", "criteria", "classification", "segment", "segments", "score", "scale", "grade",
    "line", "lines", "unit", "units", "abscess", "injury", "deformity", "triad", "ligament", "canal", "capsule",
    "bursa", "space", "pouch", "duct", "hernia", "angle", "view", "position", "manoeuvre", "maneuver", "test",
    "phenomenon", "aneurysm", "ulcer", "nodule", "nodules", "malformation", "anomaly", "procedure", "operation",
    "repair", "shunt", "catheter", "tube", "stent", "valve", "gland", "glands", "foramen", "fissure",
    "fossa", "ring", "cell", "cells", "body", "bodies", "vein", "artery", "type", "stage", "staging", "system",
    "appearance", "pattern", "effect", "lesion", "spot", "spots", "sclerosis", "palsy", "dementia", "arthritis",
    "osteochondrosis", "apophysitis", "fasciitis", "thyroiditis", "encephalopathy", "hamartoma", "polyp",
    "polyps", "carcinoma", "neuralgia", "contracture", "tenosynovitis", "deformities", "rule", "rules", "paresis",
    "paralysis", "reflex", "murmur", "fibrosis", "granuloma", "anastomosis", "approach", "classification",
)

# People whose names are in clinical eponyms. "Baker's cyst" is the cyst, but "Quillfeather's nodule" is the
# patient's: a possessive before a clinical noun is an eponym only for these names.
EPONYM_NAMES = frozenset("""
addison alzheimer arnold baker bankart barrett barton behcet bell bennett bochdalek boerhaave bosniak bouchard
bouveret brodie brown budd burkitt caroli chance charcot chiari chilaiditi colles conn couinaud crohn cushing
dandy de quervain denis dupuytren ewing fleischner forestier galeazzi garden gleason glasgow graves hampton
harris hashimoto heberden hill hirschsprung hodgkin horner hounsfield huntington jefferson jones kaposi
kawasaki kerley kienbock kienböck klatskin krukenberg kummell legg lisfranc maisonneuve mallory marjolin meckel
meniere ménière mirizzi modic monteggia morgagni morton osgood paget pancoast parkinson perthes pott raynaud
richter riedel rolando sachs salter schatzker schatzki scheuermann schlatter schmorl segond sjogren sjögren
smith spigelian still stener sudeck takayasu tarlov tillaux todd trendelenburg virchow warthin weber wegener
wells westermark whipple wilms wilson zenker
""".split())

# Eponyms written alone, without the noun they name: "known Crohn's", "treated Hodgkin's".
BARE_EPONYMS = ("Crohn", "Paget", "Hodgkin", "Barrett", "Perthes", "Graves", "Addison", "Cushing", "Alzheimer",
                "Parkinson", "Huntington", "Wilson", "Kaposi", "Ewing", "Burkitt", "Sjogren", "Sjögren", "Raynaud",
                "Hashimoto", "Kawasaki", "Takayasu", "Behcet", "Behçet", "Meniere", "Ménière", "Osgood")

# Words common in English (or in reports) that are also names: matched only when capitalised.
COMMON_WORDS = frozenset("""
may will mark rose hope grace joy faith dawn summer autumn april june august bill bob pat sue jack frank ray
rob jay guy sky iris ivy holly heather lily daisy violet ruby amber pearl crystal honey sandy rusty young old
brown white black green grey gray gold silver long short little small large hill mill wood woods stone field
fields brook brooks lake marsh moss reed rush bush bell hall house king knight lord bishop dean page cook baker
smith turner carter walker taylor mason porter hunter fisher butler cooper archer barber farmer miller painter
potter shepherd weaver ward bone bones head heart hand foot arm back chest lung neck best good love wise strong
swift sharp bright sweet fair free noble close case cross rich power price cash bank banks street lane way
north south east west english french scott lamb fox wolf bird crow swan drake hawk finch bull hart buck doe
salmon trout pike fish cole frost snow rain winter day root wall walls bridge gate gates church chapel major
minor child mass fine well wells low high lee chase hunt wade will penny bishop dale glen ash oak birch
brain bone foot hand head long small stone wall field back heart neck knee rib lung liver skin fat cyst
""".split())

# What a person, not a body part, does next: "Stone was reviewed", "HAND ATTENDED", "Small declined".
PERSON_VERBS = frozenset("""
was is has had will would attended attends reviewed re-attended came comes went goes told informed aware
declined agreed asked asks consented says said reports reported presented presents returned returns called
rang phoned felt feels lives lived died remains remained underwent undergoes needs needed wants wanted wishes
prefers tolerated tolerates understands understood spoke speaks saw sees knows knew did does
""".split())

# Two or three capitals that mean something clinical, so are never taken for a patient's initials.
CLINICAL_ABBREVIATIONS = frozenset("""
CT MR MRI US XR PE AF MS GP ED AE RT LT CXR AXR NG NGT IV IM SC PO OD BD TDS QDS PRN DVT UTI URTI LRTI COPD CKD
AKI MI CVA TIA SAH SDH EDH ICH IVC SVC LV RV LA RA AV MV TV PV CBD GB LFT LFTS FBC CRP ESR BP HR RR GCS ENT GI
HPB MDT ICU ITU HDU AMU SAU OT PT SLT DNA DNR TB HIV HCV HBV RUQ LUQ RIF LIF SOB CP LOC FH SH PMH DH NKDA RTA
FOOSH NOF THR TKR ORIF ACL PCL MCL LCL AC SI TMJ ME MA
""".split())

# Clinical names that look like people or places: never cut up, whatever the patterns think.
CLINICAL_PHRASES = ("Sister Mary Joseph", "St James's University Hospital classification",
                    "St James's classification", "Mallory-Weiss", "Boerhaave", "Kerley B", "Virchow's node",
                    "Lady Windermere", "Jefferson fracture", "Hangman's fracture", "Chance fracture")

# Words in a site's name that identify nothing on their own ("General" in "Northgate General Hospital").
GENERIC_SITE_WORDS = frozenset("""
the of and st saint royal general district university universities hospital hospitals infirmary community
nhs trust foundation teaching memorial children's childrens women's womens city county regional national
healthcare health care services centre center medical clinic surgery hospice park treatment diagnostic
imaging new old north south east west upper lower great little united group
""".split())
