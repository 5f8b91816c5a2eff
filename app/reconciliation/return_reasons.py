"""Why money came back: the ISO 20022 reason codes a SEPA R-transaction carries (CODA 127's four characters,
camt.053's ``RtrInf/Rsn/Cd``), with their text in the languages of the review page.

The codes and their English follow the ISO 20022 external code set (ExternalReturnReason1Code and the EPC's
SEPA R-transaction guidance); a code not listed here is shown as the bank wrote it, with no text.
"""

from __future__ import annotations

#: code: (English, Dutch, French)
_TEXTS: dict[str, tuple[str, str, str]] = {
    "AC01": ("account identifier incorrect", "rekeningnummer onjuist", "identifiant de compte incorrect"),
    "AC04": ("account closed", "rekening afgesloten", "compte clôturé"),
    "AC06": ("account blocked", "rekening geblokkeerd", "compte bloqué"),
    "AC13": ("debtor account is a consumer account", "rekening van een consument", "compte d'un consommateur"),
    "AG01": ("transaction forbidden on this account", "verrichting niet toegestaan op deze rekening",
             "opération interdite sur ce compte"),
    "AG02": ("invalid bank operation code", "ongeldige bankverrichtingscode", "code d'opération bancaire invalide"),
    "AM04": ("insufficient funds", "onvoldoende saldo", "provision insuffisante"),
    "AM05": ("duplicate collection", "dubbele inning", "encaissement en double"),
    "BE05": ("creditor identifier incorrect", "schuldeiserid onjuist", "identifiant du créancier incorrect"),
    "CNOR": ("creditor bank is not registered", "bank van de schuldeiser niet geregistreerd",
             "banque du créancier non enregistrée"),
    "CUST": ("requested by the customer", "op vraag van de klant", "à la demande du client"),
    "DNOR": ("debtor bank is not registered", "bank van de schuldenaar niet geregistreerd",
             "banque du débiteur non enregistrée"),
    "DUPL": ("duplicate payment", "dubbele betaling", "paiement en double"),
    "FF01": ("invalid file format", "ongeldig bestandsformaat", "format de fichier invalide"),
    "FOCR": ("following a cancellation request", "na een annuleringsverzoek", "suite à une demande d'annulation"),
    "FRAD": ("fraudulent origin", "frauduleuze oorsprong", "origine frauduleuse"),
    "MD01": ("no mandate", "geen mandaat", "pas de mandat"),
    "MD02": ("mandate data missing or incorrect", "mandaatgegevens ontbreken of onjuist",
             "données du mandat manquantes ou incorrectes"),
    "MD06": ("refund requested by the debtor", "terugbetaling gevraagd door de schuldenaar",
             "remboursement demandé par le débiteur"),
    "MD07": ("debtor deceased", "schuldenaar overleden", "débiteur décédé"),
    "MS02": ("refused by the debtor", "geweigerd door de schuldenaar", "refusé par le débiteur"),
    "MS03": ("reason not specified", "geen reden opgegeven", "raison non spécifiée"),
    "RC01": ("bank identifier incorrect", "bankidentificatie onjuist", "identifiant bancaire incorrect"),
    "RR01": ("debtor account or identification missing", "rekening of identificatie van de schuldenaar ontbreekt",
             "compte ou identification du débiteur manquant"),
    "RR02": ("debtor name or address missing", "naam of adres van de schuldenaar ontbreekt",
             "nom ou adresse du débiteur manquant"),
    "RR03": ("creditor name or address missing", "naam of adres van de schuldeiser ontbreekt",
             "nom ou adresse du créancier manquant"),
    "RR04": ("regulatory reason", "reglementaire reden", "raison réglementaire"),
    "SL01": ("specific service of the debtor's bank", "specifieke dienst van de bank van de schuldenaar",
             "service spécifique de la banque du débiteur"),
    "TECH": ("technical problem", "technisch probleem", "problème technique"),
}  # fmt: skip

_LANGUAGES = {"en": 0, "nl": 1, "fr": 2}


def reason_text(code: str | None, language: str = "en") -> str | None:
    """The reason's text in ``language`` (en, nl, fr); None for no code or one the code set does not list."""
    texts = _TEXTS.get((code or "").upper())
    return texts[_LANGUAGES.get(language, 0)] if texts else None
