"""The three text prompts of CC-Net's ``LDM_metadata.csv`` (text1, text2, text3), exactly as in Duke's file.

text1 = scanner and contrast agent; text2 = text1 + tumour description; text3 = text2 + age and ethnicity.
Blank fields are kept as blanks (Duke's file has e.g. ``"shows  tumor in  breast"``).
"""

from __future__ import annotations

from collections.abc import Mapping

DEFAULT_REPORT = "dynamic contrast-enhanced magnetic resonance image of a breast."


def text1(row: Mapping[str, str]) -> str:
    """Scanner and contrast-agent sentence."""
    volume = f" at a bolus volume of {row['contrast_bolus_volume']} mL" if row["contrast_bolus_volume"] else ""
    return (
        "Dynamic contrast-enhanced magnetic resonance image of a breast acquired by a "
        f"{row['manufacturer']} {row['scanner']} {row['field_strength']} scanner with contrast agent "
        f"{row['contrast_agent']}{volume}."
    )


def text2(row: Mapping[str, str]) -> str:
    """text1 plus the tumour description."""
    histology = f" and its histologic type is {row['tumor_histologic_type']}" if row["tumor_histologic_type"] else ""
    return (
        f"{text1(row)} MRI Scan shows {row['tumor_bilateral']} tumor in {row['tumor_location']} breast. "
        f"This {row['metastatic']} tumor is of subtype '{row['tumor_subtype']}'{histology}."
    )


def text3(row: Mapping[str, str]) -> str:
    """text2 plus age and ethnicity."""
    age = f" Patient age is {row['age']}." if row["age"] else ""
    ethnicity = f" Patient ethnicity is {row['ethnicity']}." if row["ethnicity"] else ""
    return f"{text2(row)}{age}{ethnicity}"


def with_prompts(row: Mapping[str, str]) -> dict[str, str]:
    """Return ``row`` with text1..text3 filled in."""
    out = {k: str(v) for k, v in row.items()}
    out["text1"], out["text2"], out["text3"] = text1(out), text2(out), text3(out)
    return out
