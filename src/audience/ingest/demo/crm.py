"""A French CRM export of the people, with the dirt real exports carry.

Returns the records of ``customers.csv`` (as strings, exactly as written) and, aligned with
them, the ground truth: who each record really is and what was done to it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from audience.ingest.demo.people import DOMAIN_TYPOS, EMAIL_DOMAINS, ascii_fold

CUSTOMER_COLUMNS = [
    "id_client",
    "civilite",
    "prenom",
    "nom",
    "email",
    "telephone",
    "date_naissance",
    "ville",
    "code_postal",
    "date_inscription",
    "optin_email",
    "optin_sms",
]


def _local_part(name: str) -> str:
    """'Le Goff' -> 'legoff': how a name goes into an e-mail address."""
    return ascii_fold(name).lower().replace(" ", "").replace("'", "")


def customer_ref_of(row: int) -> str:
    """The CRM id of the record written on row ``row`` (0-based) of customers.csv."""
    return f"C{row + 1:07d}"


def customer_ref_sql(row_column: str) -> str:
    """:func:`customer_ref_of` as a SQL expression, for writers that handle millions of rows."""
    return f"'C' || lpad(({row_column} + 1)::VARCHAR, 7, '0')"


DUPLICATE_KINDS = np.array(["same_email", "same_phone", "fuzzy"])
_BIRTH_FORMATS = ["%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y"]
_YES_NO = [("oui", "non"), ("1", "0"), ("true", "false"), ("O", "N"), ("Oui", "Non")]


def _pick(rng: np.random.Generator, options: list[str], p: list[float], n: int) -> np.ndarray:
    return np.asarray(options, dtype=object)[rng.choice(len(options), size=n, p=p)]


def build_records(
    rng: np.random.Generator,
    people: pd.DataFrame,
    signup: pd.Series,
    n_dup: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Primary records for everyone plus ``n_dup`` planted duplicates: (records, truth)."""
    n_people = len(people)
    dup_people = rng.choice(n_people, size=n_dup, replace=False)
    person = np.concatenate([np.arange(n_people), dup_people])
    is_dup = np.r_[np.zeros(n_people, bool), np.ones(n_dup, bool)]
    kind = np.r_[np.full(n_people, ""), DUPLICATE_KINDS[rng.choice(3, n_dup, p=[0.6, 0.25, 0.15])]]
    n = len(person)
    src = people.iloc[person].reset_index(drop=True)

    # Duplicates made "fuzzy" (or by phone) register with another address.
    fuzzy_pair = np.zeros(n_people, bool)
    fuzzy_pair[dup_people[kind[n_people:] == "fuzzy"]] = True
    need_fuzzy_fields = fuzzy_pair[person]
    other_address = is_dup & (kind != "same_email")
    true_email = src["email"].to_numpy().astype(object)
    true_email[other_address] = [
        f"{_local_part(f)}.{_local_part(la)}.{i}@{EMAIL_DOMAINS[i % 10]}"
        for f, la, i in zip(
            src["first_name"][other_address],
            src["last_name"][other_address],
            np.flatnonzero(other_address),
            strict=True,
        )
    ]

    email, email_dirt = _emails(rng, true_email, is_dup & (kind == "same_email"))
    phone, phone_dirt = _phones(
        rng, src["phone_national"].to_numpy(), is_dup & (kind == "same_phone")
    )
    phone[kind == "fuzzy"], phone_dirt[kind == "fuzzy"] = "", "missing"
    first, last, name_dirt = _names(rng, src, is_dup)
    birth, birth_dirt = _births(rng, src["birth_date"], need_fuzzy_fields)
    city, city_dirt = _cities(rng, src["city_name"].to_numpy())
    postcode, postcode_dirt = _postcodes(rng, src["postcode"].to_numpy(), need_fuzzy_fields)
    # A duplicate registered again later than the person's first sign-up.
    signup_at = signup.iloc[person].reset_index(drop=True)
    later = pd.to_timedelta(rng.integers(1, 200, n) * is_dup, unit="D")
    signup_at = pd.Series(np.minimum(signup_at + later, signup_at.max()))
    consent = rng.random((n, 2))
    yes_no = rng.integers(0, len(_YES_NO), n)
    email_probs = src["consent_email_prob"].to_numpy()
    sms_probs = src["consent_sms_prob"].to_numpy()
    optin_email = [
        _YES_NO[k][0 if c < p else 1]
        for k, c, p in zip(yes_no, consent[:, 0], email_probs, strict=True)
    ]
    optin_sms = [
        _YES_NO[k][0 if c < p else 1]
        for k, c, p in zip(yes_no, consent[:, 1], sms_probs, strict=True)
    ]
    civilite = np.where(
        src["gender"] == "M",
        _pick(rng, ["M.", "Monsieur", "M", ""], [0.7, 0.15, 0.1, 0.05], n),
        _pick(rng, ["Mme", "Madame", "Mlle", ""], [0.7, 0.15, 0.1, 0.05], n),
    )

    order = rng.permutation(n)  # duplicates must not sit next to their primary record
    customer_ref = np.empty(n, dtype=object)
    customer_ref[order] = [customer_ref_of(row) for row in range(n)]
    records = pd.DataFrame(
        {
            "id_client": customer_ref,
            "civilite": civilite,
            "prenom": first,
            "nom": last,
            "email": email,
            "telephone": phone,
            "date_naissance": birth,
            "ville": city,
            "code_postal": postcode,
            "signup_utc": signup_at,
            "optin_email": optin_email,
            "optin_sms": optin_sms,
        }
    )
    truth = pd.DataFrame(
        {
            "customer_ref": customer_ref,
            "person_id": person,
            "persona": src["persona"].to_numpy(),
            "is_duplicate": is_dup,
            "duplicate_kind": kind,
            "email_dirt": email_dirt,
            "true_email": true_email,
            "phone_dirt": phone_dirt,
            "true_phone": src["phone_e164"].to_numpy(),
            "name_dirt": name_dirt,
            "birth_date_dirt": birth_dirt,
            "true_birth_date": src["birth_date"].dt.strftime("%Y-%m-%d").to_numpy(),
            "city_dirt": city_dirt,
            "true_city_insee": src["city_insee"].to_numpy(),
            "true_city": src["city_name"].to_numpy(),
            "postcode_dirt": postcode_dirt,
            "true_postcode": src["postcode"].to_numpy(),
        }
    )
    return records.iloc[order].reset_index(drop=True), truth.iloc[order].reset_index(drop=True)


def _emails(
    rng: np.random.Generator, true_email: np.ndarray, must_stay_valid: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    n = len(true_email)
    dirt = _pick(
        rng,
        ["clean", "case", "spaces", "invalid", "typo_domain", "missing"],
        [0.72, 0.12, 0.05, 0.02, 0.02, 0.07],
        n,
    )
    dirt[must_stay_valid & ~np.isin(dirt, ["clean", "case", "spaces"])] = "case"
    out = np.empty(n, dtype=object)
    for i, (value, d) in enumerate(zip(true_email, dirt, strict=True)):
        local, domain = value.split("@")
        if d == "case":
            out[i] = local.capitalize() + "@" + domain.capitalize()
        elif d == "spaces":
            out[i] = f"  {value} "
        elif d == "invalid":
            broken = (local + domain, f"{local}@@{domain}", f"{local}@{domain.replace('.', ',')}")
            out[i] = broken[i % 3]
        elif d == "typo_domain":
            if domain in DOMAIN_TYPOS:
                out[i] = local + "@" + DOMAIN_TYPOS[domain]
            else:
                out[i], dirt[i] = value.upper(), "case"
        elif d == "missing":
            out[i] = ""
        else:
            out[i] = value
    return out, dirt


_PHONE_FORMATS = [
    "spaced",
    "compact",
    "intl_spaced",
    "intl",
    "dotted",
    "dashed",
    "intl_00",
    "lost_zero",
]


def _format_phone(national: int, style: str) -> str:
    digits = f"0{national}"
    pairs = " ".join(digits[i : i + 2] for i in range(0, 10, 2))
    if style == "spaced":
        return pairs
    if style == "compact":
        return digits
    if style == "intl_spaced":
        return "+33 " + digits[1] + " " + pairs[3:]
    if style == "intl":
        return "+33" + digits[1:]
    if style == "dotted":
        return pairs.replace(" ", ".")
    if style == "dashed":
        return pairs.replace(" ", "-")
    if style == "intl_00":
        return "0033" + digits[1:]
    return digits[1:]  # lost_zero: a spreadsheet read the number as an integer


def _phones(
    rng: np.random.Generator, national: np.ndarray, must_stay_valid: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    n = len(national)
    weights = [0.33, 0.25, 0.11, 0.11, 0.09, 0.045, 0.03, 0.035]
    style = _pick(
        rng, [*_PHONE_FORMATS, "invalid", "missing"], [*(w * 0.9 for w in weights), 0.015, 0.085], n
    )
    style[must_stay_valid & np.isin(style, ["invalid", "missing"])] = "spaced"
    out = np.empty(n, dtype=object)
    for i, (number, s) in enumerate(zip(national, style, strict=True)):
        if s == "missing":
            out[i] = ""
        elif s == "invalid":
            out[i] = _format_phone(int(number), "spaced")[:-3]
        else:
            out[i] = _format_phone(int(number), s)
    return out, style


def _names(
    rng: np.random.Generator, src: pd.DataFrame, is_dup: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(src)
    first = src["first_name"].to_numpy().astype(object)
    last = src["last_name"].to_numpy().astype(object)
    dirt = _pick(rng, ["clean", "upper_last", "upper", "lower"], [0.7, 0.18, 0.06, 0.06], n)
    swapped = is_dup & (rng.random(n) < 0.2)
    dirt[swapped] = "swapped"
    out_first, out_last = first.copy(), last.copy()
    upper_last = dirt == "upper_last"
    out_last[upper_last] = [x.upper() for x in last[upper_last]]
    upper = dirt == "upper"
    out_first[upper] = [x.upper() for x in first[upper]]
    out_last[upper] = [x.upper() for x in last[upper]]
    lower = dirt == "lower"
    out_first[lower] = [x.lower() for x in first[lower]]
    out_last[lower] = [x.lower() for x in last[lower]]
    out_first[swapped], out_last[swapped] = [x.upper() for x in last[swapped]], first[swapped]
    return out_first, out_last, dirt


def _births(
    rng: np.random.Generator, birth: pd.Series, must_be_present: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    n = len(birth)
    fmt = rng.choice(len(_BIRTH_FORMATS), size=n, p=[0.6, 0.25, 0.1, 0.05])
    missing = (rng.random(n) < 0.08) & ~must_be_present
    out = np.empty(n, dtype=object)
    for k, pattern in enumerate(_BIRTH_FORMATS):
        chosen = fmt == k
        out[chosen] = birth[chosen].dt.strftime(pattern).to_numpy()
    out[missing] = ""
    dirt = np.asarray(["ddmmyyyy_slash", "iso", "ddmmyyyy_dash", "ddmmyyyy_dot"])[fmt]
    dirt[missing] = "missing"
    return out, dirt


def city_variant(name: str, style: str, rng: np.random.Generator) -> str:
    """How a person may have typed the name of their commune."""
    if style == "upper":
        return name.upper()
    if style == "upper_ascii":
        return ascii_fold(name).upper().replace("-", " ")
    if style == "lower_ascii":
        return ascii_fold(name).lower().replace("-", " ")
    if style == "abbreviated":
        short = name.replace("Saint-", "St-").replace("Sainte-", "Ste-").replace("Saint ", "St ")
        return ascii_fold(short) if short != name else ascii_fold(name).replace("-", " ")
    if style == "typo" and len(name) >= 6:
        i = int(rng.integers(1, len(name) - 2))
        if name[i].isalpha() and name[i + 1].isalpha():
            return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
        return name[:i] + name[i + 1 :]
    return name


def _cities(rng: np.random.Generator, names: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = len(names)
    style = _pick(
        rng,
        ["clean", "upper", "upper_ascii", "lower_ascii", "abbreviated", "typo", "missing"],
        [0.7, 0.06, 0.07, 0.05, 0.05, 0.04, 0.03],
        n,
    )
    out = np.empty(n, dtype=object)
    for i, (name, s) in enumerate(zip(names, style, strict=True)):
        out[i] = "" if s == "missing" else city_variant(name, s, rng)
    style[(style != "clean") & (style != "missing") & (out == names)] = "clean"
    return out, style


def _postcodes(
    rng: np.random.Generator, postcodes: np.ndarray, must_be_present: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    n = len(postcodes)
    out = postcodes.astype(object).copy()
    dirt = np.full(n, "clean", dtype=object)
    lost_zero = np.char.startswith(postcodes.astype(str), "0") & (rng.random(n) < 0.3)
    out[lost_zero] = [p[1:] for p in postcodes[lost_zero]]
    dirt[lost_zero] = "lost_zero"
    missing = (rng.random(n) < 0.04) & ~must_be_present
    out[missing] = ""
    dirt[missing] = "missing"
    return out, dirt
