"""Archival prose for synthetic test pages: letters, finding-aid entries, conservation reports.

English, German, French and Dutch sentences with placeholders that ``fill_sentence`` replaces
with dates written the way each language writes them, accession numbers in several museums'
patterns, personal names and places with diacritics. The text is written for these pages, so
what is on a page is known exactly and OCR output can be scored against it.
"""

# The sentences stay whole, one per line, so they read and edit as prose.
# ruff: noqa: E501

from __future__ import annotations

import random
import re

LANGUAGES = ("eng", "deu", "fra", "nld")
GENRES = ("letter", "finding_aid", "conservation")

MONTHS = {
    "eng": ("January", "February", "March", "April", "May", "June", "July", "August",
            "September", "October", "November", "December"),
    "deu": ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
            "September", "Oktober", "November", "Dezember"),
    "fra": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
            "septembre", "octobre", "novembre", "décembre"),
    "nld": ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus",
            "september", "oktober", "november", "december"),
}  # fmt: skip

NAMES = (
    "Jeanne Lefèvre", "Jürgen Müller", "Hélène Dubois", "Sébastien Giraud", "Anna Grünewald",
    "Pieter van der Heijden", "Margaretha de Jong", "Thomas Whitfield", "Zoë Ashworth",
    "François Bérenger", "Käthe Schröder", "Gerrit Jan Hoogendijk", "Élise Marchand",
    "Friedrich Wilhelm Löwe", "Cornelis Bruëns", "Eleanor Pritchard", "Josef Dvořák",
    "Marie-Thérèse Nöel", "Hendrik Zeeuw", "Agnès Rousseau", "Ludwig Straßer",
)  # fmt: skip

PLACES = (
    "Amsterdam", "Den Haag", "Leiden", "Köln", "München", "Genève", "Lyon", "Besançon",
    "Nürnberg", "Düsseldorf", "Utrecht", "Haarlem", "Bruxelles", "Liège", "Zürich",
    "Edinburgh", "Norwich", "Groningen", "Straßburg", "Orléans", "Münster", "Delft",
)  # fmt: skip

MATERIALS = {
    "eng": ("laid paper", "vellum", "oak panel", "canvas", "parchment", "wove paper"),
    "deu": ("Büttenpapier", "Pergament", "Eichenholztafel", "Leinwand", "Karton"),
    "fra": ("papier vergé", "vélin", "panneau de chêne", "toile", "parchemin"),
    "nld": ("geschept papier", "perkament", "eikenhouten paneel", "doek", "karton"),
}

HEADINGS = {
    "letter": {
        "eng": ("Correspondence of the Keeper, {place}", "Letter to the Trustees"),
        "deu": ("Schriftwechsel der Direktion, {place}", "Brief an das Kuratorium"),
        "fra": ("Correspondance du conservateur, {place}", "Lettre au conseil d'administration"),
        "nld": ("Briefwisseling van de directeur, {place}", "Brief aan het bestuur"),
    },
    "finding_aid": {
        "eng": ("Finding aid: Papers of {name}", "Inventory of the archive, {place}"),
        "deu": ("Findbuch: Nachlass {name}", "Bestandsverzeichnis des Stadtarchivs {place}"),
        "fra": ("Inventaire du fonds {name}", "Répertoire numérique des archives de {place}"),
        "nld": ("Inventaris van het archief van {name}", "Plaatsingslijst, archief {place}"),
    },
    "conservation": {
        "eng": ("Conservation report {acc}", "Condition report, object {acc}"),
        "deu": ("Restaurierungsbericht {acc}", "Zustandsprotokoll, Objekt {acc}"),
        "fra": ("Rapport de restauration {acc}", "Constat d'état, objet {acc}"),
        "nld": ("Restauratieverslag {acc}", "Conditierapport, object {acc}"),
    },
}

# Placeholders: {date} a date in the language's usual form, {year}, {acc} an accession
# number, {name}, {name2}, {place}, {material}, {count} a small number, {box} a box number.
SENTENCES: dict[str, dict[str, tuple[str, ...]]] = {
    "letter": {
        "eng": (
            "Dear Sir, I write to acknowledge with thanks your letter of {date}.",
            "The drawings you sent on approval arrived safely in {place} and have been examined by the Keeper.",
            "We should be glad to acquire the sheet numbered {acc} for the sum you proposed.",
            "Mr {name} has kindly agreed to lend the portrait for the exhibition opening in the spring of {year}.",
            "I regret that the committee was unable to meet before the end of the month.",
            "The packing case will be collected by our carrier on {date} and insured for its full value.",
            "Kindly return the enclosed receipt, signed and dated, at your earliest convenience.",
            "Our photographer will call on Tuesday to record the {count} panels before they are moved.",
            "The Trustees have asked me to convey their gratitude for so generous a gift.",
            "It would be most helpful to know whether the frame is original to the picture.",
            "I enclose a copy of the inventory drawn up by {name} in {year}, which may be of use.",
            "With kind regards, I remain, Sir, your obedient servant, {name}.",
        ),
        "deu": (
            "Sehr geehrter Herr Direktor, für Ihr Schreiben vom {date} danke ich Ihnen verbindlich.",
            "Die Zeichnungen sind wohlbehalten in {place} eingetroffen und wurden von Dr. {name} begutachtet.",
            "Wir würden das Blatt mit der Inventarnummer {acc} gern für unsere Sammlung erwerben.",
            "Frau {name} ist bereit, das Bildnis für die Ausstellung im Frühjahr {year} zu leihen.",
            "Leider konnte der Ausschuss vor Ende des Monats nicht zusammentreten.",
            "Die Kiste wird am {date} von unserem Spediteur abgeholt und zum vollen Wert versichert.",
            "Bitte senden Sie uns die beigefügte Empfangsbestätigung unterschrieben zurück.",
            "Der Fotograf wird die {count} Tafeln vor dem Umzug vollständig aufnehmen.",
            "Das Kuratorium lässt Ihnen für die großzügige Schenkung herzlich danken.",
            "Es wäre uns sehr hilfreich zu erfahren, ob der Rahmen zum Gemälde gehört.",
            "Anbei übersende ich eine Abschrift des Verzeichnisses, das {name} im Jahre {year} anlegte.",
            "Mit vorzüglicher Hochachtung, Ihr ergebener {name}.",
        ),
        "fra": (
            "Monsieur, j'ai l'honneur d'accuser réception de votre lettre du {date}.",
            "Les dessins que vous nous avez confiés sont arrivés à {place} en parfait état.",
            "Nous serions heureux d'acquérir la feuille inventoriée sous le numéro {acc}.",
            "Madame {name} a bien voulu prêter le portrait pour l'exposition du printemps {year}.",
            "Je regrette que la commission n'ait pu se réunir avant la fin du mois.",
            "La caisse sera enlevée par notre transporteur le {date} et assurée pour sa pleine valeur.",
            "Veuillez nous retourner le reçu ci-joint, daté et signé, dès que possible.",
            "Notre photographe viendra mardi prendre les {count} panneaux avant leur déménagement.",
            "Le conseil m'a prié de vous transmettre ses remerciements pour ce don généreux.",
            "Il nous serait très utile de savoir si le cadre est d'origine.",
            "Je joins la copie de l'inventaire dressé par {name} en {year}, qui pourra vous être utile.",
            "Veuillez agréer, Monsieur, l'expression de mes sentiments distingués. {name}",
        ),
        "nld": (
            "Geachte heer, met dank bevestig ik de ontvangst van uw brief van {date}.",
            "De tekeningen zijn in goede staat in {place} aangekomen en door de conservator bekeken.",
            "Wij zouden het blad met inventarisnummer {acc} graag voor de collectie verwerven.",
            "Mevrouw {name} is bereid het portret te lenen voor de tentoonstelling in het voorjaar van {year}.",
            "Helaas kon de commissie niet vóór het einde van de maand bijeenkomen.",
            "De kist wordt op {date} door onze vervoerder opgehaald en voor de volle waarde verzekerd.",
            "Wilt u het bijgevoegde ontvangstbewijs ondertekend en gedateerd terugsturen?",
            "Onze fotograaf komt dinsdag de {count} panelen vastleggen voordat zij worden verplaatst.",
            "Het bestuur verzoekt mij u hartelijk te danken voor deze royale schenking.",
            "Het zou ons zeer helpen te weten of de lijst oorspronkelijk bij het schilderij hoort.",
            "Ingesloten vindt u een afschrift van de inventaris die {name} in {year} opmaakte.",
            "Met de meeste hoogachting, uw dienstwillige {name}.",
        ),
    },
    "finding_aid": {
        "eng": (
            "{acc}. Letters received from {name}, {year}-{year2}. {count} folders.",
            "{acc}. Minute book of the acquisitions committee, {date} to the end of {year2}.",
            "{acc}. Sketchbook with studies of {place}, pencil and wash on {material}.",
            "Box {box}: accounts, receipts and shipping notes concerning loans to {place}.",
            "{acc}. Photographs of the galleries before the rehang of {year}, {count} prints.",
            "Series {box}. Registers of visitors, arranged chronologically; gaps for {year}.",
            "{acc}. Deed of gift signed by {name}, dated {date}.",
            "Access: open to researchers by appointment; fragile items may be seen as copies only.",
            "Provenance: transferred from the municipal archive of {place} in {year}.",
            "{acc}. Press cuttings on the exhibition of {year}, mounted in an album.",
        ),
        "deu": (
            "{acc}. Briefe von {name}, {year}-{year2}. {count} Mappen.",
            "{acc}. Protokollbuch der Ankaufskommission, {date} bis Ende {year2}.",
            "{acc}. Skizzenbuch mit Ansichten von {place}, Bleistift und Feder auf {material}.",
            "Karton {box}: Rechnungen, Quittungen und Frachtbriefe zu Leihgaben nach {place}.",
            "{acc}. Fotografien der Säle vor der Neuhängung {year}, {count} Abzüge.",
            "Serie {box}. Besucherbücher, chronologisch geordnet; Lücken für {year}.",
            "{acc}. Schenkungsurkunde, unterzeichnet von {name}, datiert {date}.",
            "Benutzung: nach Voranmeldung; empfindliche Stücke nur als Reproduktion.",
            "Herkunft: {year} aus dem Stadtarchiv {place} übernommen.",
            "{acc}. Zeitungsausschnitte zur Ausstellung {year}, in einem Album aufgeklebt.",
        ),
        "fra": (
            "{acc}. Lettres reçues de {name}, {year}-{year2}. {count} chemises.",
            "{acc}. Registre des délibérations de la commission d'achat, du {date} à la fin de {year2}.",
            "{acc}. Carnet de croquis avec des vues de {place}, mine de plomb et lavis sur {material}.",
            "Carton {box} : comptes, reçus et lettres de voiture relatifs aux prêts à {place}.",
            "{acc}. Photographies des salles avant le réaccrochage de {year}, {count} tirages.",
            "Série {box}. Registres des visiteurs, classés chronologiquement ; lacunes pour {year}.",
            "{acc}. Acte de donation signé par {name}, daté du {date}.",
            "Communication : sur rendez-vous ; les pièces fragiles ne sont communiquées qu'en copie.",
            "Provenance : versé par les archives municipales de {place} en {year}.",
            "{acc}. Coupures de presse sur l'exposition de {year}, montées dans un album.",
        ),
        "nld": (
            "{acc}. Ingekomen brieven van {name}, {year}-{year2}. {count} omslagen.",
            "{acc}. Notulenboek van de aankoopcommissie, {date} tot eind {year2}.",
            "{acc}. Schetsboek met gezichten op {place}, potlood en penseel op {material}.",
            "Doos {box}: rekeningen, kwitanties en vrachtbrieven over bruiklenen aan {place}.",
            "{acc}. Foto's van de zalen vóór de herinrichting van {year}, {count} afdrukken.",
            "Serie {box}. Bezoekersregisters, chronologisch geordend; hiaten voor {year}.",
            "{acc}. Schenkingsakte, ondertekend door {name}, gedateerd {date}.",
            "Raadpleging: op afspraak; kwetsbare stukken alleen als reproductie.",
            "Herkomst: in {year} overgedragen door het gemeentearchief van {place}.",
            "{acc}. Krantenknipsels over de tentoonstelling van {year}, in een album geplakt.",
        ),
    },
    "conservation": {
        "eng": (
            "Object {acc}, examined by {name} on {date}.",
            "Support: {material}, {count} sheets; the lower left corner is torn and creased.",
            "Foxing and tide lines along the upper edge; previous repairs with pressure-sensitive tape.",
            "The tape was removed mechanically and the adhesive residue reduced with a heated spatula.",
            "Surface dirt was cleaned with a soft brush and a vinyl eraser, avoiding the media.",
            "Tears were mended with wheat starch paste and Japanese tissue of matching tone.",
            "Relative humidity during treatment 50%, temperature 19 °C; light level below 50 lux.",
            "Recommendation: store flat in an acid-free folder; do not display for more than three months.",
            "Condition after treatment: stable; the object may travel to {place} for the loan of {year}.",
            "Varnish layer discoloured; cleaning tests with solvent mixtures recorded in the appendix.",
            "Previous treatment: relined in {year} by {name2}; the lining canvas is sound.",
        ),
        "deu": (
            "Objekt {acc}, untersucht von {name} am {date}.",
            "Träger: {material}, {count} Blätter; die untere linke Ecke ist eingerissen und geknickt.",
            "Stockflecken und Wasserränder am oberen Rand; ältere Reparaturen mit Klebeband.",
            "Das Klebeband wurde mechanisch abgenommen, der Kleberrückstand mit dem Heizspachtel reduziert.",
            "Der Oberflächenschmutz wurde mit weichem Pinsel und Radierer entfernt, ohne die Zeichnung zu berühren.",
            "Risse wurden mit Weizenstärkekleister und Japanpapier in passendem Ton geschlossen.",
            "Relative Luftfeuchte während der Behandlung 50 %, Temperatur 19 °C; Beleuchtung unter 50 Lux.",
            "Empfehlung: liegend in säurefreier Mappe lagern; nicht länger als drei Monate ausstellen.",
            "Zustand nach der Behandlung: stabil; das Objekt kann {year} nach {place} ausgeliehen werden.",
            "Firnis vergilbt; Reinigungsproben mit Lösemittelgemischen sind im Anhang verzeichnet.",
            "Frühere Behandlung: {year} von {name2} doubliert; die Doublierleinwand ist intakt.",
        ),
        "fra": (
            "Objet {acc}, examiné par {name} le {date}.",
            "Support : {material}, {count} feuillets ; l'angle inférieur gauche est déchiré et plié.",
            "Rousseurs et auréoles le long du bord supérieur ; anciennes réparations au ruban adhésif.",
            "Le ruban a été retiré mécaniquement et les résidus d'adhésif réduits à la spatule chauffante.",
            "L'empoussièrement a été éliminé au pinceau doux et à la gomme, sans toucher au dessin.",
            "Les déchirures ont été consolidées à la colle d'amidon et au papier japonais de ton assorti.",
            "Humidité relative pendant le traitement 50 %, température 19 °C ; éclairement inférieur à 50 lux.",
            "Recommandation : conserver à plat dans une chemise neutre ; ne pas exposer plus de trois mois.",
            "État après traitement : stable ; l'objet peut être prêté à {place} en {year}.",
            "Vernis jauni ; les tests de nettoyage aux mélanges de solvants figurent en annexe.",
            "Traitement antérieur : rentoilé en {year} par {name2} ; la toile de rentoilage est saine.",
        ),
        "nld": (
            "Object {acc}, onderzocht door {name} op {date}.",
            "Drager: {material}, {count} bladen; de linkerbenedenhoek is gescheurd en gekreukt.",
            "Vossevlekken en vochtranden langs de bovenrand; eerdere reparaties met plakband.",
            "Het plakband is mechanisch verwijderd en de lijmresten zijn met een verwarmde spatel verminderd.",
            "Oppervlaktevuil is met een zachte kwast en een gum verwijderd, buiten de tekening.",
            "Scheuren zijn gedicht met tarwezetmeelstijfsel en Japans papier in passende tint.",
            "Relatieve vochtigheid tijdens de behandeling 50%, temperatuur 19 °C; lichtniveau onder 50 lux.",
            "Advies: vlak bewaren in een zuurvrije omslag; niet langer dan drie maanden tentoonstellen.",
            "Toestand na behandeling: stabiel; het object kan in {year} naar {place} worden uitgeleend.",
            "Vernislaag vergeeld; reinigingsproeven met oplosmiddelmengsels staan in de bijlage.",
            "Eerdere behandeling: in {year} gedoubleerd door {name2}; het doubleerdoek is gaaf.",
        ),
    },
}

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def written_date(language: str, rng: random.Random) -> str:
    """A date between 1780 and 1999 in one of the forms the language's documents use."""
    year, month, day = rng.randint(1780, 1999), rng.randint(1, 12), rng.randint(1, 28)
    name = MONTHS[language][month - 1]
    forms = {
        "eng": (f"{day} {name} {year}", f"{name} {day}, {year}", f"{year}-{month:02d}-{day:02d}"),
        "deu": (f"{day}. {name} {year}", f"{day:02d}.{month:02d}.{year}"),
        "fra": (f"{day} {name} {year}", f"{day}/{month:02d}/{year}"),
        "nld": (f"{day} {name} {year}", f"{day:02d}-{month:02d}-{year}"),
    }[language]
    return rng.choice(forms)


def accession_number(rng: random.Random) -> str:
    """An accession or inventory number in one of several museums' and archives' patterns."""
    year = rng.randint(1850, 2015)
    forms = (
        f"{year}.{rng.randint(1, 120)}.{rng.randint(1, 40)}",
        f"RP-P-{year}-{rng.randint(1, 9999)}",
        f"SK-A-{rng.randint(100, 4999)}",
        f"BK-NM-{rng.randint(1000, 15000)}",
        f"Inv. {rng.randint(100, 9999)}/{rng.randint(1, 12)}",
        f"MS {rng.randint(100, 3000)}/{rng.randint(1, 9)}",
        f"ZA-{year}-{rng.randint(1, 999):04d}",
    )
    return rng.choice(forms)


def fill_sentence(template: str, language: str, rng: random.Random) -> str:
    """``template`` with each placeholder replaced by a fresh value drawn from ``rng``."""

    year = rng.randint(1780, 1960)  # one year per sentence, so "{year}-{year2}" is a range

    def value(match: re.Match[str]) -> str:
        key = match.group(1)
        return {
            "date": lambda: written_date(language, rng),
            "year": lambda: str(year),
            "year2": lambda: str(year + rng.randint(1, 30)),
            "acc": lambda: accession_number(rng),
            "name": lambda: rng.choice(NAMES),
            "name2": lambda: rng.choice(NAMES),
            "place": lambda: rng.choice(PLACES),
            "material": lambda: rng.choice(MATERIALS[language]),
            "count": lambda: str(rng.randint(2, 48)),
            "box": lambda: str(rng.randint(1, 240)),
        }[key]()

    return _PLACEHOLDER.sub(value, template)


def page_heading(genre: str, language: str, rng: random.Random) -> str:
    """A heading for a page of ``genre`` in ``language``."""
    return fill_sentence(rng.choice(HEADINGS[genre][language]), language, rng)


def paragraph(genre: str, language: str, rng: random.Random) -> str:
    """Two to five filled sentences of ``genre`` in ``language``, joined by spaces."""
    templates = SENTENCES[genre][language]
    count = rng.randint(2, 5) if genre != "finding_aid" else 1
    return " ".join(
        fill_sentence(template, language, rng) for template in rng.sample(templates, count)
    )
