"""Language names for the picker: people choose "German", not "de".

Whisper's language codes with their English names (the same table the model's tokenizer uses);
a code missing here is shown as itself rather than hidden.
"""

from __future__ import annotations

NAMES = {
    "en": "English", "zh": "Chinese", "de": "German", "es": "Spanish", "ru": "Russian", "ko": "Korean",
    "fr": "French", "ja": "Japanese", "pt": "Portuguese", "tr": "Turkish", "pl": "Polish", "ca": "Catalan",
    "nl": "Dutch", "ar": "Arabic", "sv": "Swedish", "it": "Italian", "id": "Indonesian", "hi": "Hindi",
    "fi": "Finnish", "vi": "Vietnamese", "he": "Hebrew", "uk": "Ukrainian", "el": "Greek", "ms": "Malay",
    "cs": "Czech", "ro": "Romanian", "da": "Danish", "hu": "Hungarian", "ta": "Tamil", "no": "Norwegian",
    "th": "Thai", "ur": "Urdu", "hr": "Croatian", "bg": "Bulgarian", "lt": "Lithuanian", "la": "Latin",
    "mi": "Maori", "ml": "Malayalam", "cy": "Welsh", "sk": "Slovak", "te": "Telugu", "fa": "Persian",
    "lv": "Latvian", "bn": "Bengali", "sr": "Serbian", "az": "Azerbaijani", "sl": "Slovenian", "kn": "Kannada",
    "et": "Estonian", "mk": "Macedonian", "br": "Breton", "eu": "Basque", "is": "Icelandic", "hy": "Armenian",
    "ne": "Nepali", "mn": "Mongolian", "bs": "Bosnian", "kk": "Kazakh", "sq": "Albanian", "sw": "Swahili",
    "gl": "Galician", "mr": "Marathi", "pa": "Punjabi", "si": "Sinhala", "km": "Khmer", "sn": "Shona",
    "yo": "Yoruba", "so": "Somali", "af": "Afrikaans", "oc": "Occitan", "ka": "Georgian", "be": "Belarusian",
    "tg": "Tajik", "sd": "Sindhi", "gu": "Gujarati", "am": "Amharic", "yi": "Yiddish", "lo": "Lao",
    "uz": "Uzbek", "fo": "Faroese", "ht": "Haitian Creole", "ps": "Pashto", "tk": "Turkmen", "nn": "Nynorsk",
    "mt": "Maltese", "sa": "Sanskrit", "lb": "Luxembourgish", "my": "Myanmar", "bo": "Tibetan", "tl": "Tagalog",
    "mg": "Malagasy", "as": "Assamese", "tt": "Tatar", "haw": "Hawaiian", "ln": "Lingala", "ha": "Hausa",
    "ba": "Bashkir", "jw": "Javanese", "su": "Sundanese", "yue": "Cantonese",
}

# Offered before the model's own list is known (and for models whose list cannot be read cheaply):
# the most spoken ones first, the rest alphabetically after them.
COMMON = ["en", "zh", "de", "es", "ru", "ko", "fr", "ja", "pt", "tr", "pl", "it", "nl", "sv", "ar", "hi", "uk"]


def language_name(code: str) -> str:
    return NAMES.get(code, code)


def picker_entries(known: frozenset[str] | None) -> list[tuple[str, str, str | None]]:
    """(code, label, why disabled or None) for the language picker, "auto" first.

    ``known`` is what the model declares: an empty set for an English-only model (then only
    English is enabled and the rest say why), None when it cannot be told cheaply (then the
    common languages are offered and the engine checks on load).
    """
    if known is None:
        codes = COMMON
    elif not known:
        codes = COMMON
    else:
        codes = [c for c in COMMON if c in known] + sorted((c for c in known if c not in COMMON), key=language_name)
    english_only = known is not None and not known
    auto = "English only" if english_only else "Detect automatically"
    entries: list[tuple[str, str, str | None]] = [("auto", auto, None)]
    for code in codes:
        why = "this model is English-only" if known is not None and not known and code != "en" else None
        entries.append((code, language_name(code), why))
    return entries
