"""The words and weights ``generate.py`` draws from: names, titles, companies, stages, activities.

Kept apart from the generator so each stays readable; ``weighted`` builds the fast weighted
choices the tables use. Changing a table changes the generated data for every seed.
"""

from __future__ import annotations

from bisect import bisect
from collections.abc import Callable, Sequence
from itertools import accumulate
from typing import TypeVar

T = TypeVar("T")


def weighted(pairs: Sequence[tuple[T, float]]) -> Callable[[Callable[[], float]], T]:
    """A fast weighted choice: ``pick(rng.random)`` returns one value."""
    values = [v for v, _ in pairs]
    cum = list(accumulate(w for _, w in pairs))
    total = cum[-1]
    last = len(values) - 1

    def pick(rand: Callable[[], float]) -> T:
        return values[min(bisect(cum, rand() * total), last)]

    return pick


VENDOR = "https://www.acme-revenue.example"

FREE_MAIL = [
    "gmail.com",
    "hotmail.com",
    "yahoo.com",
    "outlook.com",
    "gmx.de",
    "orange.fr",
    "yahoo.es",
    "icloud.com",
    "proton.me",
]

COUNTRIES = weighted(
    [
        ("US", 30),
        ("ES", 18),
        ("GB", 14),
        ("DE", 12),
        ("FR", 11),
        ("IT", 4),
        ("NL", 3),
        ("MX", 3),
        ("PT", 2),
        ("IE", 2),
        ("CA", 1),
    ]
)
CITIES = {
    "US": ["New York", "San Francisco", "Austin", "Chicago", "Boston", "Seattle"],
    "ES": ["Madrid", "Barcelona", "Valencia", "Sevilla", "Bilbao", "Málaga"],
    "GB": ["London", "Manchester", "Edinburgh", "Bristol", "Leeds"],
    "DE": ["Berlin", "München", "Hamburg", "Köln", "Frankfurt am Main"],
    "FR": ["Paris", "Lyon", "Toulouse", "Nantes", "Lille"],
    "IT": ["Milano", "Roma", "Torino", "Bologna"],
    "NL": ["Amsterdam", "Rotterdam", "Utrecht"],
    "MX": ["Ciudad de México", "Monterrey", "Guadalajara"],
    "PT": ["Lisboa", "Porto"],
    "IE": ["Dublin", "Cork"],
    "CA": ["Toronto", "Vancouver", "Montréal"],
}
# The offset (minutes) some exports use for this country's contacts, winter time.
OFFSETS = {
    "US": -300,
    "MX": -360,
    "CA": -300,
    "ES": 60,
    "DE": 60,
    "FR": 60,
    "IT": 60,
    "NL": 60,
    "GB": 0,
    "IE": 0,
    "PT": 0,
}
TLDS = {
    "US": ".com",
    "ES": ".es",
    "GB": ".co.uk",
    "DE": ".de",
    "FR": ".fr",
    "IT": ".it",
    "NL": ".nl",
    "MX": ".com.mx",
    "PT": ".pt",
    "IE": ".ie",
    "CA": ".ca",
}

FIRST = {
    "en": [
        "James",
        "Mary",
        "John",
        "Patricia",
        "Robert",
        "Jennifer",
        "Michael",
        "Linda",
        "David",
        "Sarah",
        "Emma",
        "Oliver",
        "Sophie",
        "Daniel",
        "Olivia",
        "Liam",
        "Chloe",
        "Ryan",
    ],
    "es": [
        "María",
        "José",
        "Lucía",
        "Javier",
        "Carmen",
        "Pablo",
        "Laura",
        "Sergio",
        "Ana",
        "Alejandro",
        "Marta",
        "Diego",
        "Elena",
        "Íñigo",
        "Nuria",
        "Andrés",
    ],
    "de": ["Lukas", "Anna", "Jonas", "Lea", "Felix", "Hannah", "Maximilian", "Jürgen", "Katrin"],
    "fr": ["Camille", "Louis", "Chloé", "Hugo", "Léa", "Antoine", "Manon", "Théo", "Inès"],
    "it": ["Giulia", "Marco", "Francesca", "Luca", "Chiara", "Matteo"],
}
LAST = {
    "en": [
        "Smith",
        "Johnson",
        "Williams",
        "Brown",
        "Jones",
        "Miller",
        "Davis",
        "Taylor",
        "Clarke",
        "Walker",
        "O'Brien",
        "Murphy",
        "Wilson",
        "Evans",
        "Wright",
        "Hughes",
    ],
    "es": [
        "García",
        "Martínez",
        "López",
        "Sánchez",
        "Pérez",
        "Gómez",
        "Fernández",
        "Ruiz",
        "Díaz",
        "Moreno",
        "Muñoz",
        "Álvarez",
        "Romero",
        "Navarro",
        "de la Fuente",
    ],
    "de": ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker"],
    "fr": ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Petit", "Durand", "Leroy"],
    "it": ["Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano"],
}
LANG = {
    "US": "en",
    "GB": "en",
    "IE": "en",
    "CA": "en",
    "ES": "es",
    "MX": "es",
    "PT": "es",
    "DE": "de",
    "NL": "de",
    "FR": "fr",
    "IT": "it",
}
ASCII = str.maketrans("áéíóúñüöäçèàìòÁÉÍÓÚÑÜÖÄ'ßë", "aeiounuoaceaioAEIOUNUOA_se")

TITLES = weighted(
    [
        ("CEO", 3),
        ("Founder & CEO", 1),
        ("CTO", 2),
        ("CFO", 1.5),
        ("COO", 1),
        ("VP Sales", 2),
        ("VP of Marketing", 2),
        ("IT Director", 3),
        ("Director of Operations", 2),
        ("Director General", 1),
        ("Director de Marketing", 1),
        ("Directeur Commercial", 1),
        ("Geschäftsführer", 1),
        ("Head of IT", 2),
        ("Head of Growth", 1.5),
        ("Marketing Manager", 6),
        ("Sales Manager", 5),
        ("IT Manager", 4),
        ("Procurement Manager", 2),
        ("HR Manager", 2),
        ("Office Manager", 2),
        ("Responsable IT", 1),
        ("Account Executive", 3),
        ("Software Engineer", 6),
        ("Developer", 4),
        ("Data Analyst", 3),
        ("Consultant", 4),
        ("Marketing Assistant", 3),
        ("SDR", 2),
        ("Project Manager", 4),
        ("Teacher", 1),
        ("Freelancer", 2),
        ("Student", 3),
        ("Estudiante", 1),
        ("PhD Student", 0.5),
        ("Intern", 1.5),
        (None, 8),
    ]
)
DEPARTMENT_BY_WORD = [
    ("IT", "IT"),
    ("CTO", "IT"),
    ("Software", "Engineering"),
    ("Developer", "Engineering"),
    ("Data", "Engineering"),
    ("Marketing", "Marketing"),
    ("Growth", "Marketing"),
    ("Sales", "Sales"),
    ("Commercial", "Sales"),
    ("Account", "Sales"),
    ("SDR", "Sales"),
    ("CFO", "Finance"),
    ("Procurement", "Procurement"),
    ("HR", "HR"),
    ("Operations", "Operations"),
    ("COO", "Operations"),
    ("CEO", "Executive"),
    ("General", "Executive"),
    ("Geschäftsführer", "Executive"),
]
DEPARTMENTS = ["IT", "Marketing", "Sales", "Finance", "Operations", "HR", "Engineering"]

INDUSTRIES = [
    "Software",
    "Manufacturing",
    "Retail",
    "Financial Services",
    "Healthcare",
    "Education",
    "Logistics",
    "Telecommunications",
    "Real Estate",
    "Hospitality",
    "Professional Services",
    "Media",
    "Energy",
    "Public Sector",
    "Automotive",
]
SYL_A = [
    "Nova",
    "Blue",
    "Iber",
    "Alpen",
    "Quanta",
    "Terra",
    "Lumi",
    "Vertex",
    "Atlas",
    "Orbi",
    "Sol",
    "Nord",
    "Casa",
    "Data",
    "Green",
    "Bright",
    "Helio",
    "Kraft",
    "Mare",
    "Red",
    "Silver",
    "Vita",
    "Zen",
    "Omni",
    "Pixel",
    "Cloud",
    "Stone",
    "River",
    "Polar",
    "Astra",
]
SYL_B = [
    "tech",
    "soft",
    "logix",
    "ware",
    "net",
    "works",
    "labs",
    "mind",
    "path",
    "forge",
    "link",
    "wave",
    "hub",
    "sys",
    "core",
    "line",
    "grid",
    "bit",
    "scale",
    "point",
]
SUFFIX = {
    "US": ["Inc.", "LLC", "Corp."],
    "ES": ["S.L.", "S.A."],
    "GB": ["Ltd", "plc"],
    "DE": ["GmbH", "AG"],
    "FR": ["SAS", "SA"],
    "IT": ["S.r.l.", "S.p.A."],
    "NL": ["B.V."],
    "MX": ["S.A. de C.V."],
    "PT": ["Lda."],
    "IE": ["Ltd"],
    "CA": ["Inc."],
}

LEAD_SOURCES = weighted(
    [
        ("organic_search", 25),
        ("paid_search", 15),
        ("linkedin", 10),
        ("webinar", 8),
        ("referral", 7),
        ("event", 6),
        ("list_import", 6),
        ("direct", 10),
        ("partner", 3),
        (None, 10),
    ]
)
STAGES = weighted(
    [
        ("lead", 44),
        (None, 24),
        ("mql", 8),
        ("sql", 4),
        ("nurture", 6),
        ("opportunity", 3),
        ("customer", 4),
        ("disqualified", 7),
    ]
)
DQ_REASONS = weighted(
    [
        ("student", 3),
        ("competitor", 1),
        ("bad_contact_info", 2),
        ("no_budget", 3),
        ("not_decision_maker", 2),
        ("no_need", 2),
        ("spam", 1),
        ("duplicate", 1),
    ]
)
NURTURE_REASONS = weighted(
    [("no_response", 4), ("bad_timing", 3), ("inactive", 3), ("no_budget", 1), (None, 2)]
)

BUDGET = weighted([("approved", 15), ("estimating", 25), ("none", 30), (None, 30)])
ROLE = weighted([("economic_buyer", 10), ("decision_maker", 15), ("influencer", 35), (None, 40)])
TIMELINE = weighted([("this_quarter", 15), ("next_quarter", 20), ("next_year", 25), (None, 40)])
NEEDS = [
    "Replace spreadsheets for pipeline tracking",
    "Lead routing across 3 sales teams",
    "Automate MQL handoff to sales",
    "Consolidate two CRMs after an acquisition",
    "Faster first touch on inbound demo requests",
    "Better reporting for the board",
    "Necesitamos priorizar leads entrantes",
    "Mehr Transparenz im Vertrieb",
]

# Activity types: (type, weight for an owned/worked contact, weight for an unowned one).
ACTIVITY_WEIGHTS = [
    ("page_view", 38, 44),
    ("email_open", 15, 17),
    ("email_click", 6, 7),
    ("form_submission", 3.5, 4),
    ("content_download", 5, 5.5),
    ("webinar_attended", 2, 2),
    ("demo_request", 1, 1),
    ("email_reply", 2, 1),
    ("meeting_booked", 1, 0.6),
    ("unsubscribe", 0.3, 0.35),
    ("email_bounce", 0.4, 0.5),
    ("call", 12, 1.2),
    ("email_sent", 11, 1.2),
    ("meeting", 2.5, 0.2),
]
SALES_TYPES = frozenset({"call", "email_sent", "meeting"})
PICK_OWNED = weighted([(t, w) for t, w, _ in ACTIVITY_WEIGHTS])
PICK_UNOWNED = weighted([(t, w) for t, _, w in ACTIVITY_WEIGHTS])

PAGES = [
    "/",
    "/product",
    "/features/lead-scoring",
    "/features/routing",
    "/integrations/hubspot",
    "/integrations/salesforce",
    "/customers",
    "/blog/what-is-an-mql",
    "/blog/bant-in-2027",
    "/blog/sla-between-marketing-and-sales",
    "/docs/getting-started",
    "/about",
    "/careers",
    "/contact",
    "/es/",
    "/de/",
]
PRICING = ["/pricing", "/pricing", "/pricing?plan=team", "/pricing#enterprise", "/es/pricing"]
FORMS = weighted(
    [
        ("contact_us", 3),
        ("newsletter", 5),
        ("trial_signup", 2),
        ("webinar_registration", 3),
        ("gated_content", 4),
    ]
)
ASSETS = weighted([("case_study", 3), ("ebook", 3), ("whitepaper", 2), ("guide", 2), ("checklist", 1)])
OUTCOMES = weighted([("connected", 30), ("no_answer", 40), ("voicemail", 25), ("wrong_number", 5)])
CAMPAIGNS = [
    "nl-2026-09",
    "nl-2026-10",
    "nl-2026-11",
    "webinar-invite-q4",
    "nurture-bant-1",
    "nurture-bant-2",
    "product-launch-routing",
    "black-friday-2026",
]
SUBJECTS = [
    "Quick question",
    "Following up on your demo request",
    "Re: pricing",
    "Resources you asked for",
    "Intro call?",
]
WEBINARS = ["lead-scoring-101", "revops-sla-masterclass", "crm-hygiene", "forecasting-2027"]

OWNER_NAMES = [
    "Ana Ruiz",
    "Ben Carter",
    "Clara Vogel",
    "David Sanz",
    "Eva Laurent",
    "Frank Miller",
    "Gloria Ortega",
    "Hugo Petit",
    "Irene Costa",
    "Jack Murphy",
    "Karin Weiss",
    "Luis Navarro",
    "Marie Dubois",
    "Nick Evans",
    "Olga Ramos",
    "Paul Wright",
    "Quique Gil",
    "Rosa Blanco",
    "Sam Hughes",
    "Tina Moreau",
]
