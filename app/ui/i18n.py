"""The review page in Dutch, French and English, with Belgian number and date formats (babel, CLDR data).

The catalogue is a dictionary, not gettext files: the page has a few dozen phrases and a test checks that every
phrase exists in every language. Amounts typed by a person are read the way they were meant: "12,50" and
"1.234,56" in Dutch or French, and "12.50" everywhere (a computer's notation nobody means as 1,250).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import NumberFormatError, format_currency, format_decimal, parse_decimal

from app.core.money import MoneyError, parse_amount
from app.reconciliation.reasons import Stored
from app.reconciliation.signals import AMOUNT_PARAMETERS, SIGNALS

LANGUAGES = ("nl", "fr", "en")
DEFAULT_LANGUAGE = "nl"
#: Belgian locales: English is Belgian English (1.234,56 €, 04/12/2026), as a bookkeeper in Belgium reads it.
LOCALES = {"nl": "nl_BE", "fr": "fr_BE", "en": "en_BE"}
LANGUAGE_NAMES = {"nl": "Nederlands", "fr": "Français", "en": "English"}

MESSAGES: dict[str, dict[str, str]] = {
    "review": {"nl": "Nazicht", "fr": "Vérification", "en": "Review"},
    "sign_in": {"nl": "Aanmelden", "fr": "Se connecter", "en": "Sign in"},
    "sign_in_title": {
        "nl": "Aanmelden met een API-sleutel van het bedrijf",
        "fr": "Se connecter avec une clé API de l'entreprise",
        "en": "Sign in with a company API key",
    },
    "api_key": {"nl": "API-sleutel", "fr": "Clé API", "en": "API key"},
    "read_key_note": {
        "nl": "Met een leessleutel ziet u alles; boeken en ongedaan maken vragen een schrijfsleutel.",
        "fr": "Une clé de lecture montre tout ; imputer et annuler demandent une clé d'écriture.",
        "en": "A read key shows everything; booking and undoing need a write key.",
    },
    "consent_expiring": {
        "nl": "De toegang tot rekening {iban} via Ponto loopt af op {day}: hernieuw ze.",
        "fr": "L'accès au compte {iban} via Ponto expire le {day} : renouvelez-le.",
        "en": "Ponto's access to account {iban} ends on {day}: renew it.",
    },
    "consent_expired": {
        "nl": "De toegang tot rekening {iban} via Ponto is verlopen: hernieuw ze om betalingen te blijven zien.",
        "fr": "L'accès au compte {iban} via Ponto a expiré : renouvelez-le pour continuer à voir les paiements.",
        "en": "Ponto's access to account {iban} has ended: renew it to keep seeing payments.",
    },
    "ponto_revoked": {
        "nl": "De koppeling met Ponto is ingetrokken: er komen geen betalingen meer binnen tot ze opnieuw gemaakt is.",
        "fr": "La connexion à Ponto a été révoquée : plus aucun paiement n'arrive avant qu'elle soit rétablie.",
        "en": "The Ponto connection was revoked: no payments come in until it is made again.",
    },
    "renew": {"nl": "Hernieuwen", "fr": "Renouveler", "en": "Renew"},
    "read_only": {
        "nl": "Alleen lezen: deze sleutel kan niets boeken.",
        "fr": "Lecture seule : cette clé ne peut rien imputer.",
        "en": "Read only: this key cannot book anything.",
    },
    "sign_out": {"nl": "Afmelden", "fr": "Se déconnecter", "en": "Sign out"},
    "not_a_key": {
        "nl": "Dat is geen API-sleutel van een bedrijf.",
        "fr": "Ce n'est pas une clé API d'entreprise.",
        "en": "That is not a company API key.",
    },
    "search": {"nl": "Zoeken", "fr": "Rechercher", "en": "Search"},
    "search_hint": {
        "nl": "nummer, klant, referentie of bedrag",
        "fr": "numéro, client, référence ou montant",
        "en": "number, customer, reference or amount",
    },
    "search_hint_payment": {
        "nl": "betaler, rekening, mededeling of bedrag",
        "fr": "payeur, compte, communication ou montant",
        "en": "payer, account, communication or amount",
    },
    "find_payment": {"nl": "Betaling zoeken", "fr": "Chercher un paiement", "en": "Find a payment"},
    "find_invoice": {"nl": "Factuur zoeken", "fr": "Chercher une facture", "en": "Find an invoice"},
    "clear": {"nl": "Wissen", "fr": "Effacer", "en": "Clear"},
    "suggestions": {"nl": "Voorstellen na te kijken", "fr": "Propositions à vérifier", "en": "Suggestions to review"},
    "nothing_to_review": {"nl": "Niets na te kijken.", "fr": "Rien à vérifier.", "en": "Nothing to review."},
    "to_account": {"nl": "Te verwerken ontvangsten", "fr": "Encaissements à traiter", "en": "Money in to account for"},
    "all_accounted": {
        "nl": "Alle ontvangsten zijn verwerkt.",
        "fr": "Tous les encaissements sont traités.",
        "en": "All money in is accounted for.",
    },
    "split_hint": {
        "nl": "Boek een betaling op de ene factuur na de andere om ze te splitsen; wat overblijft, blijft hier staan.",
        "fr": "Imputez un paiement sur une facture après l'autre pour le répartir ; le reste reste ici.",
        "en": "Allocate a payment to one invoice after another to split it; what is left stays here.",
    },
    "money_out": {
        "nl": "Uitgaven en bankkosten",
        "fr": "Sorties et frais bancaires",
        "en": "Money out and bank charges",
    },
    "no_money_out": {
        "nl": "Geen uitgaven te verwerken.",
        "fr": "Aucune sortie à traiter.",
        "en": "No money out to account for.",
    },
    "history": {"nl": "Geboekt", "fr": "Imputé", "en": "Settled"},
    "nothing_settled": {"nl": "Nog niets geboekt.", "fr": "Rien d'imputé.", "en": "Nothing settled yet."},
    "automation_heading": {"nl": "Automatisch geboekt", "fr": "Imputé automatiquement", "en": "Settled automatically"},
    "automation_intro": {
        "nl": "Per week van boeking: het deel van het ontvangen geld dat de dienst zelf boekte, en het deel met een "
        "gestructureerde mededeling.",
        "fr": "Par semaine de comptabilisation : la part de l'argent reçu que le service a imputée seul, et la part "
        "avec une communication structurée.",
        "en": "By week of booking: the share of money in the service settled on its own, and the share that carried "
        "a structured communication.",
    },
    "legend_automatic": {"nl": "automatisch geboekt", "fr": "imputé automatiquement", "en": "settled automatically"},
    "legend_reference": {
        "nl": "met gestructureerde mededeling",
        "fr": "avec communication structurée",
        "en": "with a structured communication",
    },
    "week": {"nl": "Week", "fr": "Semaine", "en": "Week"},
    "payments_in": {"nl": "Ontvangen", "fr": "Reçus", "en": "Money in"},
    "by_people": {"nl": "Door mensen", "fr": "Par des personnes", "en": "By people"},
    "median_days": {"nl": "Mediaan dagen", "fr": "Jours (médiane)", "en": "Median days"},
    "returns_heading": {"nl": "Teruggeboekt", "fr": "Retours", "en": "Returned"},
    "no_returns": {
        "nl": "Geen geld teruggeboekt.",
        "fr": "Aucun montant retourné.",
        "en": "No money came back.",
    },
    "return_reason": {"nl": "Reden", "fr": "Motif", "en": "Reason"},
    "times": {"nl": "Aantal", "fr": "Nombre", "en": "Count"},
    "take_back": {"nl": "terugnemen van", "fr": "reprendre sur", "en": "take back from"},
    "open_invoices": {"nl": "Openstaande facturen", "fr": "Factures ouvertes", "en": "Open invoices"},
    "no_open_invoices": {
        "nl": "Geen openstaande facturen.",
        "fr": "Aucune facture ouverte.",
        "en": "No open invoices.",
    },
    "upload": {
        "nl": "Rekeninguittreksel opladen",
        "fr": "Charger un extrait de compte",
        "en": "Upload a bank statement",
    },
    "upload_hint": {
        "nl": "CODA- of camt.053-bestand van de bank",
        "fr": "Fichier CODA ou camt.053 de la banque",
        "en": "CODA or camt.053 file from the bank",
    },
    "file": {"nl": "Bestand", "fr": "Fichier", "en": "File"},
    "upload_button": {"nl": "Opladen", "fr": "Charger", "en": "Upload"},
    "uploaded": {
        "nl": "Uittreksel gelezen: {created} nieuwe bewegingen, {matched} geboekt, {suggested} voorgesteld.",
        "fr": "Extrait lu : {created} nouveaux mouvements, {matched} imputés, {suggested} proposés.",
        "en": "Statement read: {created} new movements, {matched} matched, {suggested} suggested.",
    },
    "already_imported": {
        "nl": "Dit bestand was al ingelezen: er is niets nieuws.",
        "fr": "Ce fichier était déjà importé : rien de nouveau.",
        "en": "This file was already imported: nothing new.",
    },
    "no_file": {"nl": "Kies een bestand.", "fr": "Choisissez un fichier.", "en": "Choose a file."},
    "date": {"nl": "Datum", "fr": "Date", "en": "Date"},
    "from": {"nl": "Van", "fr": "De", "en": "From"},
    "to": {"nl": "Aan", "fr": "À", "en": "To"},
    "communication": {"nl": "Mededeling", "fr": "Communication", "en": "Communication"},
    "amount": {"nl": "Bedrag", "fr": "Montant", "en": "Amount"},
    "left": {"nl": "Rest", "fr": "Reste", "en": "Left"},
    "allocated": {"nl": "geboekt", "fr": "imputé", "en": "allocated"},
    "invoice": {"nl": "Factuur", "fr": "Facture", "en": "Invoice"},
    "choose_invoice": {"nl": "kies een factuur…", "fr": "choisissez une facture…", "en": "choose an invoice…"},
    "due": {"nl": "te betalen", "fr": "dû", "en": "due"},
    "allocate": {"nl": "Boeken", "fr": "Imputer", "en": "Allocate"},
    "keep": {"nl": "Rest houden", "fr": "Garder le reste", "en": "Keep the rest"},
    "reason": {"nl": "Reden", "fr": "Motif", "en": "Reason"},
    "reason_payment_difference": {"nl": "betalingsverschil", "fr": "écart de paiement", "en": "payment difference"},
    "reason_bank_fee": {"nl": "bankkosten", "fr": "frais bancaires", "en": "bank fee"},
    "reason_discount": {"nl": "korting", "fr": "escompte", "en": "discount"},
    "reason_manual": {"nl": "manueel", "fr": "manuel", "en": "manual"},
    "reason_returned": {"nl": "teruggeboekt", "fr": "retourné", "en": "returned"},
    "payment": {"nl": "Betaling", "fr": "Paiement", "en": "Payment"},
    "proposed": {"nl": "Voorgestelde facturen", "fr": "Factures proposées", "en": "Proposed invoices"},
    "why": {"nl": "Waarom", "fr": "Pourquoi", "en": "Why"},
    "decision": {"nl": "Beslissing", "fr": "Décision", "en": "Decision"},
    "accept": {"nl": "Aanvaarden", "fr": "Accepter", "en": "Accept"},
    "reject": {"nl": "Weigeren", "fr": "Refuser", "en": "Reject"},
    "written_off": {"nl": "afgeboekt", "fr": "passé en perte", "en": "written off"},
    "score": {"nl": "score", "fr": "score", "en": "score"},
    "when": {"nl": "Wanneer", "fr": "Quand", "en": "When"},
    "what": {"nl": "Wat", "fr": "Quoi", "en": "What"},
    "how": {"nl": "Hoe", "fr": "Comment", "en": "How"},
    "by": {"nl": "Door", "fr": "Par", "en": "By"},
    "undo": {"nl": "Ongedaan maken", "fr": "Annuler", "en": "Undo"},
    "history_allocation": {
        "nl": "{amount} op {invoice}",
        "fr": "{amount} sur {invoice}",
        "en": "{amount} to {invoice}",
    },
    "history_write_off": {
        "nl": "{amount} afgeboekt op {invoice}",
        "fr": "{amount} passé en perte sur {invoice}",
        "en": "{amount} written off on {invoice}",
    },
    "history_kept": {
        "nl": "{amount} van een betaling gehouden zonder factuur",
        "fr": "{amount} d'un paiement gardé sans facture",
        "en": "{amount} of a payment kept without an invoice",
    },
    "number": {"nl": "Nummer", "fr": "Numéro", "en": "Number"},
    "customer": {"nl": "Klant", "fr": "Client", "en": "Customer"},
    "due_date": {"nl": "Vervaldag", "fr": "Échéance", "en": "Due"},
    "status": {"nl": "Status", "fr": "Statut", "en": "Status"},
    "amount_due": {"nl": "Te betalen", "fr": "Montant dû", "en": "Amount due"},
    "reference": {"nl": "Referentie", "fr": "Référence", "en": "Reference"},
    "overdue": {"nl": "vervallen", "fr": "échue", "en": "overdue"},
    "status_open": {"nl": "open", "fr": "ouverte", "en": "open"},
    "status_partially_paid": {"nl": "deels betaald", "fr": "payée en partie", "en": "partially paid"},
    "showing": {
        "nl": "{first}-{last} van {total}",
        "fr": "{first}-{last} sur {total}",
        "en": "{first}-{last} of {total}",
    },
    "previous": {"nl": "Vorige", "fr": "Précédent", "en": "Previous"},
    "next": {"nl": "Volgende", "fr": "Suivant", "en": "Next"},
    "confirm_title": {"nl": "Bevestigen", "fr": "Confirmer", "en": "Confirm"},
    "confirm_allocate": {
        "nl": "{amount} van de betaling van {payer} boeken op factuur {invoice} ({customer}).",
        "fr": "Imputer {amount} du paiement de {payer} sur la facture {invoice} ({customer}).",
        "en": "Allocate {amount} of the payment from {payer} to invoice {invoice} ({customer}).",
    },
    "confirm_tolerance": {
        "nl": "Het verschil van {amount} valt binnen de tolerantie en wordt afgeboekt.",
        "fr": "L'écart de {amount} est dans la tolérance et sera passé en perte.",
        "en": "The difference of {amount} is within the tolerance and will be written off.",
    },
    "confirm_keep": {
        "nl": "{amount} van de betaling van {payer} houden zonder factuur, reden: {reason}.",
        "fr": "Garder {amount} du paiement de {payer} sans facture, motif : {reason}.",
        "en": "Keep {amount} of the payment from {payer} without an invoice, reason: {reason}.",
    },
    "confirm_accept": {
        "nl": "Het voorstel aanvaarden: de betaling van {payer} ({amount}) wordt geboekt zoals hieronder.",
        "fr": "Accepter la proposition : le paiement de {payer} ({amount}) est imputé comme ci-dessous.",
        "en": "Accept the suggestion: the payment from {payer} ({amount}) is allocated as below.",
    },
    "after_invoice": {
        "nl": "Daarna: factuur {invoice} {status}, nog {due} te betalen.",
        "fr": "Ensuite : facture {invoice} {status}, {due} encore dû.",
        "en": "Afterwards: invoice {invoice} {status}, {due} still due.",
    },
    "after_payment": {
        "nl": "Daarna blijft er van de betaling {left} over.",
        "fr": "Ensuite, il reste {left} du paiement.",
        "en": "Afterwards {left} of the payment is left.",
    },
    "status_after_paid": {"nl": "betaald", "fr": "payée", "en": "paid"},
    "status_after_overpaid": {"nl": "te veel betaald", "fr": "payée en trop", "en": "overpaid"},
    "status_after_partially_paid": {"nl": "deels betaald", "fr": "payée en partie", "en": "partially paid"},
    "status_after_open": {"nl": "open", "fr": "ouverte", "en": "open"},
    "confirm_undo_allocation": {
        "nl": "Ongedaan maken: {amount} van deze betaling aan factuur {invoice} ({customer}) komt terug vrij.",
        "fr": "Annuler : {amount} de ce paiement imputés à la facture {invoice} ({customer}) sont libérés.",
        "en": "Undo: {amount} of this payment allocated to invoice {invoice} ({customer}) is freed again.",
    },
    "confirm_undo_return": {
        "nl": "Ongedaan maken: de terugboeking van {amount} op factuur {invoice} ({customer}) en alles van die terugboeking.",
        "fr": "Annuler : le retour de {amount} sur la facture {invoice} ({customer}) et tout ce retour.",
        "en": "Undo: the return of {amount} on invoice {invoice} ({customer}), and all of that return.",
    },
    "confirm_undo_write_off": {
        "nl": "Ongedaan maken: {amount} afgeboekt op factuur {invoice} ({reason}).",
        "fr": "Annuler : {amount} passés en perte sur la facture {invoice} ({reason}).",
        "en": "Undo: {amount} written off on invoice {invoice} ({reason}).",
    },
    "confirm_undo_kept": {
        "nl": "Ongedaan maken: {amount} van de betaling behouden zonder factuur ({reason}).",
        "fr": "Annuler : {amount} du paiement gardés sans facture ({reason}).",
        "en": "Undo: {amount} of the payment kept without an invoice ({reason}).",
    },
    "undo_later": {
        "nl": "U kunt dit nadien ongedaan maken onder 'Geboekt'.",
        "fr": "Vous pourrez l'annuler ensuite sous « Imputé ».",
        "en": "You can undo it afterwards under 'Settled'.",
    },
    "confirm": {"nl": "Bevestigen", "fr": "Confirmer", "en": "Confirm"},
    "cancel": {"nl": "Annuleren", "fr": "Annuler", "en": "Cancel"},
    "more_than_due": {"nl": "meer dan verschuldigd", "fr": "plus que le dû", "en": "more than due"},
    "done_allocated": {"nl": "Geboekt.", "fr": "Imputé.", "en": "Allocated."},
    "done_kept": {"nl": "Gehouden.", "fr": "Gardé.", "en": "Kept."},
    "done_accepted": {"nl": "Voorstel aanvaard.", "fr": "Proposition acceptée.", "en": "Suggestion accepted."},
    "rules_heading": {"nl": "Regels", "fr": "Règles", "en": "Rules"},
    "rules_intro": {
        "nl": "Een regel werkt alleen op wat geen referentie regelde. Voorstellen komen uit twee gelijke beslissingen "
        "en werken pas als iemand ze aanzet.",
        "fr": "Une règle n'agit que sur ce qu'aucune référence n'a réglé. Les propositions viennent de deux décisions "
        "identiques et n'agissent qu'une fois activées par quelqu'un.",
        "en": "A rule acts only on what no reference settled. Proposals come from two equal decisions and act only "
        "once a person switches them on.",
    },
    "no_rules": {"nl": "Nog geen regels.", "fr": "Aucune règle.", "en": "No rules yet."},
    "rule_state_proposed": {"nl": "voorgesteld", "fr": "proposée", "en": "proposed"},
    "rule_state_off": {"nl": "uit", "fr": "désactivée", "en": "off"},
    "rule_state_on": {"nl": "aan", "fr": "active", "en": "on"},
    "rule_state_dismissed": {"nl": "afgewezen", "fr": "écartée", "en": "dismissed"},
    "rule_keep": {"nl": "behouden als {reason}", "fr": "garder comme {reason}", "en": "keep as {reason}"},
    "rule_payer": {
        "nl": "betaalt de open facturen van {customer}",
        "fr": "paie les factures ouvertes de {customer}",
        "en": "pays the open invoices of {customer}",
    },
    "rule_never_auto": {
        "nl": "nooit automatisch boeken",
        "fr": "jamais imputer automatiquement",
        "en": "never settle automatically",
    },
    "direction_out": {"nl": "uitgaand", "fr": "sortant", "en": "money out"},
    "rule_when": {"nl": "Wanneer", "fr": "Quand", "en": "When"},
    "rule_does": {"nl": "Doet", "fr": "Fait", "en": "Does"},
    "rule_state": {"nl": "Staat", "fr": "État", "en": "State"},
    "switch_on": {"nl": "Aanzetten", "fr": "Activer", "en": "Switch on"},
    "switch_off": {"nl": "Uitzetten", "fr": "Désactiver", "en": "Switch off"},
    "dismiss": {"nl": "Afwijzen", "fr": "Écarter", "en": "Dismiss"},
    "done_rule_made": {
        "nl": "Regel gemaakt, uit: probeer hem en zet hem aan.",
        "fr": "Règle créée, désactivée : essayez-la puis activez-la.",
        "en": "Rule made, off: try it, then switch it on.",
    },
    "new_rule": {"nl": "Nieuwe regel", "fr": "Nouvelle règle", "en": "New rule"},
    "rule_name": {"nl": "Naam", "fr": "Nom", "en": "Name"},
    "rule_words": {
        "nl": "Woorden in de mededeling",
        "fr": "Mots de la communication",
        "en": "Words in the communication",
    },
    "rule_account": {
        "nl": "Rekening van de tegenpartij",
        "fr": "Compte de la contrepartie",
        "en": "Counterparty account",
    },
    "rule_customer": {"nl": "Klant (betaler)", "fr": "Client (payeur)", "en": "Customer (payer)"},
    "make_rule": {"nl": "Regel maken", "fr": "Créer la règle", "en": "Make the rule"},
    "done_rule_on": {"nl": "Regel aangezet.", "fr": "Règle activée.", "en": "Rule switched on."},
    "done_rule_off": {"nl": "Regel uitgezet.", "fr": "Règle désactivée.", "en": "Rule switched off."},
    "done_rule_dismissed": {"nl": "Voorstel afgewezen.", "fr": "Proposition écartée.", "en": "Proposal dismissed."},
    "confirm_rule_on": {
        "nl": "Regel {name} aanzetten: hij werkt op {count} open betaling(en) van de laatste 90 dagen, en op elke nieuwe.",
        "fr": "Activer la règle {name} : elle agit sur {count} paiement(s) ouvert(s) des 90 derniers jours, et sur "
        "chaque nouveau.",
        "en": "Switch on rule {name}: it acts on {count} open payment(s) of the last 90 days, and on every new one.",
    },
    "rule_undo_note": {
        "nl": "Wat de regel boekt, maakt u ongedaan zoals elke beslissing.",
        "fr": "Ce que la règle impute s'annule comme toute décision.",
        "en": "What the rule books is undone like any decision.",
    },
    "done_rejected": {"nl": "Voorstel geweigerd.", "fr": "Proposition refusée.", "en": "Suggestion rejected."},
    "done_undone": {"nl": "Ongedaan gemaakt.", "fr": "Annulé.", "en": "Undone."},
    "stale": {
        "nl": "De pagina was verouderd; er is niets gebeurd. Probeer opnieuw.",
        "fr": "La page était périmée ; rien n'a été fait. Réessayez.",
        "en": "The page was out of date; nothing was done. Try again.",
    },
    "cannot_write": {
        "nl": "Deze sleutel kan alleen lezen.",
        "fr": "Cette clé ne peut que lire.",
        "en": "This key can only read.",
    },
    "sign_in_again": {"nl": "Meld u opnieuw aan.", "fr": "Reconnectez-vous.", "en": "Sign in again."},
    "bad_amount": {
        "nl": "Bedrag {text!r} is geen bedrag zoals 12,50.",
        "fr": "Le montant {text!r} n'est pas un montant comme 12,50.",
        "en": "Amount {text!r} is not an amount such as 12,50.",
    },
    "language": {"nl": "Taal", "fr": "Langue", "en": "Language"},
    # Why a candidate is listed for a payment: the signals the ranking looks for, in a word.
    "why_free_text_reference": {"nl": "referentie", "fr": "référence", "en": "reference"},
    "why_invoice_number": {"nl": "factuurnummer", "fr": "numéro de facture", "en": "invoice number"},
    "why_amount_equals_due": {"nl": "zelfde bedrag", "fr": "même montant", "en": "same amount"},
    "why_payer_iban": {"nl": "zelfde rekening", "fr": "même compte", "en": "same account"},
    "why_payer_name": {"nl": "naam", "fr": "nom", "en": "name"},
    # The matching engine's reasons, one per signal (app/reconciliation/signals.py), with its parameters; the
    # English is the signal's own (the API's), added below.
    "match_structured_reference": {
        "nl": "gestructureerde mededeling {reference} is de referentie van {number}",
        "fr": "la communication structurée {reference} est la référence de {number}",
    },
    "match_free_text_reference": {
        "nl": "de mededeling vermeldt de referentie van {number}",
        "fr": "la communication mentionne la référence de {number}",
    },
    "match_several_references": {
        "nl": "de betaling vermeldt de referenties van {numbers}",
        "fr": "le paiement mentionne les références de {numbers}",
    },
    "match_reference_typo": {
        "nl": "de referentie ligt één tikfout van {reference} ({number})",
        "fr": "la référence est à une faute de frappe de {reference} ({number})",
    },
    "match_invoice_number": {
        "nl": "de mededeling vermeldt factuur {number}",
        "fr": "la communication mentionne la facture {number}",
    },
    "match_invoice_numbers": {
        "nl": "de mededeling vermeldt de facturen {numbers}",
        "fr": "la communication mentionne les factures {numbers}",
    },
    "match_amounts_add_up": {
        "nl": "hun openstaande bedragen komen samen op {total}",
        "fr": "leurs montants dus font ensemble {total}",
    },
    "match_amounts_disagree": {
        "nl": "hun openstaande bedragen komen samen op {total}, de betaling is {paid}",
        "fr": "leurs montants dus font ensemble {total}, le paiement est de {paid}",
    },
    "match_payer_iban": {
        "nl": "betaald vanaf {iban}, een rekening van de klant",
        "fr": "payé depuis {iban}, un compte du client",
    },
    "match_payer_name": {
        "nl": "de naam van de betaler, {name!r}, is die van de klant",
        "fr": "le nom du payeur, {name!r}, est celui du client",
    },
    "match_amount": {
        "nl": "{amount} is het openstaande bedrag",
        "fr": "{amount} est le montant dû",
    },
    "match_payer_amount": {
        "nl": "{amount} is het openstaande bedrag van factuur {number}",
        "fr": "{amount} est le montant dû de la facture {number}",
    },
    "match_amount_subset": {
        "nl": "{amount} is wat {numbers} samen bedragen",
        "fr": "{amount} est ce que {numbers} font ensemble",
    },
    "match_unique": {
        "nl": "geen andere combinatie van openstaande facturen van de klant komt op dit bedrag",
        "fr": "aucune autre combinaison des factures ouvertes du client ne fait ce montant",
    },
    "match_amount_equals_due": {
        "nl": "{amount} is het openstaande bedrag van factuur {number} ({customer})",
        "fr": "{amount} est le montant dû de la facture {number} ({customer})",
    },
    "match_ambiguous_combination": {
        "nl": "andere openstaande facturen van deze klant komen ook op dit bedrag",
        "fr": "d'autres factures ouvertes de ce client font aussi ce montant",
    },
    "match_ambiguous_payer_amount": {
        "nl": "{count} openstaande facturen van deze klant staan open voor dit bedrag",
        "fr": "{count} factures ouvertes de ce client sont dues pour ce montant",
    },
    "match_ambiguous_amount": {
        "nl": "{count} openstaande facturen staan open voor dit bedrag",
        "fr": "{count} factures ouvertes sont dues pour ce montant",
    },
    "match_remainder": {
        "nl": "{amount} blijft over na de vermelde facturen",
        "fr": "{amount} reste après les factures mentionnées",
    },
    "match_remainder_unallocated": {
        "nl": "{amount} meer dan het openstaande bedrag blijft ongeboekt",
        "fr": "{amount} de plus que le montant dû reste non imputé",
    },
    "match_collection_reference": {
        "nl": "het end-to-end-kenmerk {reference} van de inning is dat waarmee factuur {number} werd geïnd",
        "fr": "la référence de bout en bout {reference} de l'encaissement est celle de la facture {number}",
        "en": "the collection's end-to-end id {reference} is the one invoice {number} was collected with",
    },
    "match_mandate": {
        "nl": "geïnd onder mandaat {mandate} voor het openstaande bedrag van {number}",
        "fr": "encaissé sous le mandat {mandate} pour le montant dû de {number}",
        "en": "collected under mandate {mandate} for the amount due of {number}",
    },
    "match_returned": {
        "nl": "betaalt de betaling van {amount} geboekt op {day} terug (gevonden via {evidence}): {code} {text}",
        "fr": "rembourse le paiement de {amount} comptabilisé le {day} (trouvé par {evidence}) : {code} {text}",
        "en": "returns the payment of {amount} booked on {day} (found by {evidence}): {code} {text}",
    },
    "match_returned_by_account": {
        "nl": "betaalt mogelijk de betaling van {amount} geboekt op {day} terug (gevonden via {evidence}): {code} {text}",
        "fr": "rembourse peut-être le paiement de {amount} comptabilisé le {day} (trouvé par {evidence}) : {code} {text}",
        "en": "may return the payment of {amount} booked on {day} (found by {evidence}): {code} {text}",
    },
    "match_payment_difference": {
        "nl": "{amount} minder dan het openstaande bedrag, binnen de betalingstolerantie: afgeboekt",
        "fr": "{amount} de moins que le montant dû, dans la tolérance de paiement : passé en perte",
    },
}
for _signal in SIGNALS.values():
    MESSAGES[f"match_{_signal.name}"]["en"] = _signal.english


def choose_language(cookie: str | None, accept_language: str | None) -> str:
    """The language a person chose (cookie), else the first of theirs the page speaks, else Dutch."""
    if cookie in LANGUAGES:
        return cookie  # type: ignore[return-value]
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


def translator(language: str) -> Callable[..., str]:
    def t(key: str, **values: object) -> str:
        text = MESSAGES[key][language]
        return text.format(**values) if values else text

    return t


def money(amount: Decimal, language: str) -> str:
    """1.234,56 € (en, fr: 1 234,56 €; nl: € 1.234,56), from CLDR through babel."""
    return format_currency(amount, "EUR", locale=LOCALES[language])


def day(value: date, language: str) -> str:
    """Belgian day/month/year in every language: 04/12/2026 (CLDR's short forms drop the century in French)."""
    return format_date(value, "dd/MM/yyyy", locale=LOCALES[language])


#: The page shows times as a bookkeeper in Belgium lives them, with the zone (CET or CEST).
BRUSSELS = ZoneInfo("Europe/Brussels")


def moment(value: datetime) -> str:
    """07/12/2026 21:15 CET: Brussels time, the zone named (stored times are UTC; a naive one is UTC too)."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(BRUSSELS).strftime("%d/%m/%Y %H:%M %Z")


def grouped_iban(iban: str | None) -> str:
    """BE71 0961 2345 6769: an IBAN as it is printed, in groups of four."""
    if not iban:
        return ""
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))


def decimal(value: float, language: str) -> str:
    """0,62 in Dutch and French, 0.62 in English: a score with the language's decimal sign."""
    return format_decimal(value, format="0.00", locale=LOCALES[language])


_PLAIN = re.compile(r"-?[0-9]{1,13}(?:[.,][0-9]{1,2})?")


def parse_money(text: str, language: str) -> Decimal:
    """An amount as a person types it: "12,50", "1.234,56", "1 234,56", "12.50", "€ 12,50". MoneyError if
    it is none of these, or has more than two decimals."""
    cleaned = text.replace("€", "").replace("\u202f", " ").replace("\xa0", " ").strip()
    if _PLAIN.fullmatch(cleaned):  # one separator followed by one or two digits: the decimal point
        return parse_amount(cleaned.replace(",", "."), allow_negative=False)
    try:
        value = parse_decimal(
            cleaned.replace(" ", "\u202f" if language == "fr" else "."), locale=LOCALES[language], strict=True
        )
    except NumberFormatError:
        raise MoneyError(text) from None
    return parse_amount(str(value))


@dataclass(frozen=True)
class Formats:
    """Words, amounts and dates in the reader's language."""

    language: str

    def t(self, key: str, **values: object) -> str:
        return translator(self.language)(key, **values)

    def money(self, amount: Decimal) -> str:
        return money(amount, self.language)

    def day(self, value: date) -> str:
        return day(value, self.language)

    def moment(self, value: datetime) -> str:
        return moment(value)

    def decimal(self, value: float) -> str:
        return decimal(value, self.language)

    def reason(self, reason: Mapping[str, Any], coded: Stored) -> str:
        """A matching reason in the reader's language, from the signal and parameters stored beside it, amounts
        in the Belgian format; as it was stored (the API's English) when it has none, or they do not fit."""
        if coded is not None:
            signal, params = coded
            try:
                values = {k: self.money(Decimal(v)) if k in AMOUNT_PARAMETERS else v for k, v in params.items()}
                return MESSAGES[f"match_{signal}"][self.language].format(**values)
            except (KeyError, IndexError, ValueError, TypeError, ArithmeticError):
                pass  # a parameter a newer wording lacks: the English stored with it still says it
        return str(reason.get("message") or reason.get("code") or "")
