"""Realistic people and companies for seeding a sandbox CRM, the same in every sandbox.

Five countries (ES, FR, DE, US, GB) with their names and cities; companies that share a web domain
(so account matching has something to match), some people on free-mail addresses; job titles from
CEO and IT Director to Student. ``person()`` draws from a ``random.Random`` in a fixed order, so
the same seed gives the same people in every sandbox that uses it.
"""

from __future__ import annotations

import random
import unicodedata
from dataclasses import dataclass

__all__ = [
    "COMPANIES",
    "COUNTRIES",
    "FREEMAIL",
    "NEEDS",
    "OWNER_NAMES",
    "PEOPLE",
    "TITLES",
    "Person",
    "ascii_name",
    "person",
    "pick",
    "table",
    "weights",
    "words",
]


def table(text: str) -> list[list[str]]:
    return [line.split("|") for line in text.strip().splitlines()]


def words(text: str, sep: str = " ") -> list[str]:
    return text.split(sep)


def weights(text: str) -> list[tuple[str, int]]:
    """``"a:3, b:1"`` as ``[("a", 3), ("b", 1)]`` (an empty name is allowed: ``":6"``)."""
    return [(k.strip(), int(w)) for k, w in (item.rsplit(":", 1) for item in text.split(","))]


def pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def ascii_name(text: str) -> str:
    """``"Lucía García"`` → ``"luciagarcia"``: for e-mail local parts and usernames."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace(" ", "")


# country | first names | last names | cities
PEOPLE = {
    c: (first.split(), last.split(), cities.split(","))
    for c, first, last, cities in table("""
ES|Laura Carlos Lucía Javier Marta Pablo Elena Sergio Ana Diego Víctor Sara|\
García Martínez López Sánchez Pérez Gómez Fernández Ruiz Díaz Moreno Peña Quintana|\
Madrid,Barcelona,Valencia,Sevilla,Zaragoza,Bilbao
FR|Camille Louis Chloé Hugo Léa Julien Manon Nicolas Inès Théo|\
Martin Bernard Dubois Thomas Robert Richard Petit Durand Lefèvre Moreau|\
Paris,Lyon,Marseille,Toulouse,Lille
DE|Anna Lukas Lena Jonas Laura Felix Mia Paul Jana Tobias|\
Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Hoffmann Koch|\
Berlin,München,Hamburg,Köln,Frankfurt am Main
US|Emily Michael Sarah David Jessica James Ashley Robert Megan Tyler|\
Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Clark|\
New York,Austin,Chicago,San Francisco,Boston
GB|Olivia Harry Amelia Oliver Isla George Ava Jack Freya Alfie|\
Taylor Davies Evans Thomas Roberts Walker Wright Hughes Edwards Green|\
London,Manchester,Bristol,Leeds,Edinburgh
""")
}
# country code → (English name, calling code)
COUNTRIES = {
    "ES": ("Spain", "+34"),
    "FR": ("France", "+33"),
    "DE": ("Germany", "+49"),
    "US": ("United States", "+1"),
    "GB": ("United Kingdom", "+44"),
}
# country | company | web domain (shared by its people) | industry | employees range
COMPANIES: dict[str, list[tuple[str, str, str, str]]] = {}
for _c, _name, _domain, _industry, _size in table("""
ES|Grupo Hospitalario Levante|hospital-levante.es|Healthcare|1000+
ES|Logitrans|logitrans.es|Logistics|100-500
ES|Seguros Oeste|seguros-oeste.es|Insurance|500-1000
ES|Textiles Serrano|textiles-serrano.es|Textile|100-500
ES|Banco Meridiano|bancomeridiano.es|Financial Services|1000+
ES|Clínicas Rubio|clinicas-rubio.es|Healthcare|50-100
FR|Bâtiment Durand|durand-batiment.fr|Construction|100-500
FR|Assurances Lumière|lumiere-assurances.fr|Insurance|1000+
FR|Logiciels Moreau|moreau-logiciels.fr|Computer Software|25-50
FR|Transports Petit|transports-petit.fr|Logistics|500-1000
DE|Weber Maschinenbau|weber-maschinenbau.de|Machinery|1000+
DE|Fischer Logistik|fischer-logistik.de|Logistics|100-500
DE|Klinikum Nord|klinikum-nord.de|Healthcare|1000+
DE|Becker Software|becker-software.de|Computer Software|50-100
US|Northwind Analytics|northwind-analytics.com|Computer Software|100-500
US|Acme Health Systems|acmehealth.com|Healthcare|1000+
US|Bluebird Retail|bluebird-retail.com|Retail|500-1000
US|Summit Capital|summitcapital.com|Financial Services|50-100
GB|Thames Logistics|thames-logistics.co.uk|Logistics|100-500
GB|Hughes & Wright Legal|hugheswright.co.uk|Legal Services|25-50
GB|Albion Insurance|albion-insurance.co.uk|Insurance|1000+
GB|Greenfield Energy|greenfield-energy.co.uk|Utilities|5-25
"""):
    COMPANIES.setdefault(_c, []).append((_name, _domain, _industry, _size))
FREEMAIL = words("gmail.com hotmail.com yahoo.com outlook.com gmx.de orange.fr hotmail.es")
TITLES = weights(
    "CEO:5, CTO:3, CFO:3, IT Director:6, Director de Sistemas:2, Head of IT:3, Marketing Manager:8, "
    "Head of Marketing:4, Sales Manager:6, VP Sales:2, Procurement Manager:4, Operations Manager:5, "
    "Software Engineer:6, Data Analyst:4, Consultant:4, Student:5, Intern:2, :6"
)
# BANT "need" answers as prospects type them
NEEDS = [
    "Replace spreadsheets for pipeline reporting",
    "Integrate marketing automation with the CRM",
    "Consolidate three CRM vendors",
    "Faster lead routing to sales",
    "",
]
OWNER_NAMES = words(
    "María Ortega, Nicolás Ferrer, Óscar Lam, Paula Vidal, Hannah Brooks, Marc Lefèvre, Jonas Keller, "
    "Grace Turner, Sofía Navarro, Liam Walsh, Emma Fischer, Noah Price",
    ", ",
)


@dataclass
class Person:
    """A prospect: who, where, and (unless on free mail, mostly) which company."""

    country: str
    first: str
    last: str
    email: str
    title: str  # "" for no title
    city: str
    company: str
    domain: str
    industry: str
    size: str  # employees range, "100-500"
    free_mail: bool
    with_company: bool  # a free-mail prospect usually leaves the company out
    with_website: bool


def person(rng: random.Random, emails: set[str]) -> Person:
    """A new person whose e-mail is not in ``emails`` (which it joins)."""
    country = rng.choice(list(PEOPLE))
    firsts, lasts, cities = PEOPLE[country]
    first, last = rng.choice(firsts), rng.choice(lasts)
    company, domain, industry, size = rng.choice(COMPANIES[country])
    free = rng.random() < 0.15
    local = f"{ascii_name(first)}.{ascii_name(last)}"
    email, n = f"{local}@{rng.choice(FREEMAIL) if free else domain}", 2
    while email in emails:
        email, n = f"{local}{n}@{email.split('@')[1]}", n + 1
    emails.add(email)
    title = pick(rng, TITLES)
    city = rng.choice(cities)
    # The draw order matters (same seed, same people): the 0.4 draw happens only for free mail.
    with_company = not free or rng.random() < 0.4
    with_website = not free and rng.random() < 0.7
    return Person(
        country,
        first,
        last,
        email,
        title,
        city,
        company,
        domain,
        industry,
        size,
        free,
        with_company,
        with_website,
    )
