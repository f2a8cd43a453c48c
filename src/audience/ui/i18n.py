"""English and French labels, the language chosen from the browser's ``Accept-Language``."""

from __future__ import annotations

from collections.abc import Callable

LANGUAGES = ("en", "fr")

# One entry per label: English, then French. Labels missing here show their key, which a
# test catches (every page renders in both languages).
_LABELS: dict[str, tuple[str, str]] = {
    "title": ("Audience dashboard", "Tableau de bord Audience"),
    "overview": ("Overview", "Vue d'ensemble"),
    "segments": ("Segments", "Segments"),
    "map": ("Map", "Carte"),
    "predictions": ("CLV & churn", "CLV et attrition"),
    "cohorts": ("Cohorts", "Cohortes"),
    "experiments": ("Experiments", "Expériences"),
    "runs": ("Drift & runs", "Dérive et exécutions"),
    "quality": ("Data quality", "Qualité des données"),
    "live": ("Live feed", "Flux en direct"),
    "logout": ("Log out", "Se déconnecter"),
    "login": ("Log in", "Se connecter"),
    "key": ("Read or admin key", "Clé de lecture ou d'administration"),
    "login_hint": (
        "Enter a read key (or an admin key to act on the quarantine).",
        "Saisissez une clé de lecture (ou d'administration pour agir sur la quarantaine).",
    ),
    "customers": ("Customers", "Clients"),
    "persons": ("Persons", "Personnes"),
    "current_segments": ("Segments with members", "Segments avec membres"),
    "last_runs": ("Last runs", "Dernières exécutions"),
    "freshness": ("Freshness", "Fraîcheur"),
    "last_import": ("Last import", "Dernier import"),
    "last_event": ("Last event", "Dernier événement"),
    "last_order": ("Last order", "Dernière commande"),
    "drift": ("Drift", "Dérive"),
    "no_drift": (
        "No drift check yet: run 'audience drift' after new data arrives.",
        "Aucun contrôle de dérive : lancez 'audience drift' quand de nouvelles données arrivent.",
    ),
    "run": ("Run", "Exécution"),
    "kind": ("Kind", "Type"),
    "created": ("Created", "Créé"),
    "size": ("Size", "Taille"),
    "name": ("Name", "Nom"),
    "description": ("Description", "Description"),
    "method": ("Method", "Méthode"),
    "empty_workspace": (
        "No data yet: import files ('audience import customers FILE') or play 'audience demo'.",
        "Pas encore de données : importez des fichiers ('audience import customers FICHIER') "
        "ou lancez 'audience demo'.",
    ),
    "no_run": (
        "No segmentation run yet: run 'audience segment'.",
        "Aucune segmentation : lancez 'audience segment'.",
    ),
    "no_predictions": (
        "No predictions yet: run 'audience predict clv' and 'audience predict churn'.",
        "Pas encore de prédictions : lancez 'audience predict clv' et 'audience predict churn'.",
    ),
    "no_orders": (
        "No orders yet: import them with 'audience import orders FILE'.",
        "Pas encore de commandes : importez-les avec 'audience import orders FICHIER'.",
    ),
    "no_experiments": (
        "No experiment yet: create one with 'audience experiment create'.",
        "Aucune expérience : créez-en une avec 'audience experiment create'.",
    ),
    "size_over_time": ("Size over time", "Taille dans le temps"),
    "entered_exited": ("Entered and exited per day", "Entrées et sorties par jour"),
    "entered": ("Entered", "Entrées"),
    "exited": ("Exited", "Sorties"),
    "reach": ("Reachable after consent", "Joignables après consentement"),
    "purpose": ("Purpose", "Finalité"),
    "granted": ("Granted (reachable)", "Accordé (joignables)"),
    "refused": ("Refused", "Refusé"),
    "unknown": ("Never asked", "Jamais demandé"),
    "profile": ("Profile against the population", "Profil face à la population"),
    "feature": ("Feature", "Variable"),
    "segment_mean": ("Segment mean", "Moyenne du segment"),
    "population_mean": ("Population mean", "Moyenne de la population"),
    "lift": ("Lift", "Rapport"),
    "explanation": ("Rules and explanation", "Règles et explication"),
    "condition": ("Condition", "Condition"),
    "precision": ("Precision", "Précision"),
    "recall": ("Recall", "Rappel"),
    "fidelity": ("Fidelity of the explanation", "Fidélité de l'explication"),
    "stability": ("Stability", "Stabilité"),
    "no_stability": (
        "Not measured for this kind of segment.",
        "Non mesurée pour ce type de segment.",
    ),
    "members": ("Members", "Membres"),
    "search": ("Search id, e-mail or name", "Chercher un id, un e-mail ou un nom"),
    "export": ("Download CSV", "Télécharger le CSV"),
    "search_button": ("Search", "Chercher"),
    "deliveries": ("Activation deliveries", "Envois d'activation"),
    "exports": ("Exports", "Exports"),
    "none": ("None yet.", "Aucun pour l'instant."),
    "page": ("Page", "Page"),
    "previous": ("Previous", "Précédente"),
    "next": ("Next", "Suivante"),
    "since": ("Member since", "Membre depuis"),
    "score": ("Score", "Score"),
    "email": ("E-mail", "E-mail"),
    "city": ("City", "Ville"),
    "map_hint": (
        "A repeatable sample of members on the two main axes of the run's space; hover a "
        "point to see the person.",
        "Un échantillon reproductible des membres sur les deux axes principaux de l'espace de "
        "l'exécution ; survolez un point pour voir la personne.",
    ),
    "no_map": (
        "No clustering run to draw: run 'audience segment' (an RFM run has no space).",
        "Aucune segmentation à dessiner : lancez 'audience segment' (une exécution RFM n'a pas "
        "d'espace).",
    ),
    "clv": ("CLV per segment", "CLV par segment"),
    "churn": ("Churn probability per segment", "Probabilité d'attrition par segment"),
    "retention": ("Retention", "Rétention"),
    "revenue": ("Revenue", "Chiffre d'affaires"),
    "orders": ("Orders", "Commandes"),
    "cohort": ("Cohort", "Cohorte"),
    "months_since": ("Months since first order", "Mois depuis la première commande"),
    "exposures": ("Exposures", "Expositions"),
    "results": (
        "Results (primary metric, against the control)",
        "Résultats (métrique principale, contre le témoin)",
    ),
    "analyses": ("Analyses", "Analyses"),
    "run_history": ("Run history", "Historique des exécutions"),
    "transitions": (
        "Transitions between the last two runs",
        "Transitions entre les deux dernières exécutions",
    ),
    "no_transition": (
        "One clustering run only: run 'audience segment' again to see who moved.",
        "Une seule segmentation : relancez 'audience segment' pour voir qui a changé.",
    ),
    "quarantine": ("Quarantine", "Quarantaine"),
    "reason": ("Reason", "Raison"),
    "rows": ("Rows", "Lignes"),
    "file": ("File", "Fichier"),
    "line": ("Line", "Ligne"),
    "raw": ("Record", "Enregistrement"),
    "actions": ("Actions", "Actions"),
    "retry": ("Retry", "Réessayer"),
    "discard": ("Discard", "Écarter"),
    "imports": ("Imports", "Imports"),
    "no_quarantine": ("Nothing in quarantine.", "Rien en quarantaine."),
    "live_hint": (
        "Events accepted by the collector appear here as they arrive.",
        "Les événements acceptés par le collecteur apparaissent ici dès leur arrivée.",
    ),
    "live_unavailable": (
        "The live feed needs the collector: start 'audience serve' and open its /ui.",
        "Le flux en direct demande le collecteur : lancez 'audience serve' et ouvrez son /ui.",
    ),
    "type": ("Type", "Type"),
    "event": ("Event", "Événement"),
    "user": ("User", "Utilisateur"),
    "time": ("Time", "Heure"),
    "not_found": ("Not found", "Introuvable"),
    "busy": ("Busy", "Occupé"),
    "back": ("Back to the overview", "Retour à la vue d'ensemble"),
    "done": ("Done", "Fait"),
    "no_charts": (
        "Charts need the plotly package: pip install 'audience[ui]'.",
        "Les graphiques demandent le paquet plotly : pip install 'audience[ui]'.",
    ),
}


def choose_language(accept_language: str | None) -> str:
    """The first of English or French in the browser's preference order (English if none)."""
    best, best_q = "en", -1.0
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        q -= position * 1e-6  # equal weights: the earlier one wins
        if primary in LANGUAGES and q > best_q:
            best, best_q = primary, q
    return best


def translator(language: str) -> Callable[[str], str]:
    """``t(key)``: the label in ``language``; the key itself when there is none."""
    index = LANGUAGES.index(language) if language in LANGUAGES else 0

    def t(key: str) -> str:
        label = _LABELS.get(key)
        return key if label is None else label[index]

    return t


def number(value: float | int | None, language: str, digits: int = 0) -> str:
    """A number grouped by thousands the way the language writes it."""
    if value is None:
        return "–"
    text = f"{value:,.{digits}f}"
    if language == "fr":
        return text.replace(",", "\u202f").replace(".", ",")
    return text
