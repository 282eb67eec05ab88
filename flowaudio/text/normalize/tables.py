"""The English normaliser's data: every word list and mapping, apart from the code that uses them.

Changing what a table says changes how voices read text, so any edit here that changes an output
of the case table (``tests/text/cases.tsv``) needs a new ``NORMALIZER_VERSION``.
"""

from __future__ import annotations

from typing import NamedTuple

# ------------------------------------------------------------------------------------- unicode

#: Typographic quotes and dashes to ASCII. Applied before NFKC, which would otherwise turn some of
#: them (double prime, ellipsis) into sequences this table no longer recognises. The em dash is a
#: pause in running text, so it becomes a comma; the en dash is a range ("1990–1995") or a
#: hyphen, so it becomes "-".
QUOTES_AND_DASHES = {
    "\u2018": "'",  # left single quotation mark
    "\u2019": "'",  # right single quotation mark (also the typographic apostrophe)
    "\u201a": "'",  # single low-9 quotation mark
    "\u201b": "'",  # single high-reversed-9 quotation mark
    "\u2032": "'",  # prime
    "\u2039": "'",  # single left-pointing angle quotation mark
    "\u203a": "'",  # single right-pointing angle quotation mark
    "\u02bc": "'",  # modifier letter apostrophe
    "\u00b4": "'",  # acute accent used as an apostrophe
    "\u201c": '"',  # left double quotation mark
    "\u201d": '"',  # right double quotation mark
    "\u201e": '"',  # double low-9 quotation mark
    "\u201f": '"',  # double high-reversed-9 quotation mark
    "\u2033": '"',  # double prime
    "\u00ab": '"',  # left-pointing double angle quotation mark
    "\u00bb": '"',  # right-pointing double angle quotation mark
    "\u2010": "-",  # hyphen
    "\u2011": "-",  # non-breaking hyphen
    "\u2012": "-",  # figure dash
    "\u2013": "-",  # en dash
    "\u2212": "-",  # minus sign
    "\u2014": ", ",  # em dash
    "\u2015": ", ",  # horizontal bar
    "\u2026": "...",  # horizontal ellipsis
}

#: The fraction slash that NFKC leaves in vulgar fractions ("½" -> "1⁄2").
FRACTION_SLASH = "\u2044"

#: Superscript powers, which NFKC would flatten into plain digits ("m²" -> "m2"). English only.
ENGLISH_POWERS = {"\u00b2": " squared ", "\u00b3": " cubed "}

#: Latin letters that NFKD does not reduce to ASCII. Anything else Latin that stays non-ASCII is
#: dropped (and named in the warning).
LATIN_TO_ASCII = {
    "ß": "ss",
    "ẞ": "SS",
    "æ": "ae",
    "Æ": "AE",
    "œ": "oe",
    "Œ": "OE",
    "ø": "o",
    "Ø": "O",
    "ł": "l",
    "Ł": "L",
    "đ": "d",
    "Đ": "D",
    "ð": "d",
    "Ð": "D",
    "þ": "th",
    "Þ": "Th",
    "ı": "i",
    "ħ": "h",
    "Ħ": "H",
    "ŋ": "ng",
    "Ŋ": "Ng",
}

# ------------------------------------------------------------------------------------- symbols

#: Symbols read as words wherever the earlier, more specific steps left them. The non-ASCII ones
#: survive the English Unicode cleanup for this reason; everything else non-ASCII is dropped.
SPOKEN_SYMBOLS = {
    "&": "and",
    "@": "at",
    "+": "plus",
    "=": "equals",
    "%": "percent",
    "<": "less than",
    ">": "greater than",
    "$": "dollars",
    "£": "pounds",
    "€": "euros",
    "¥": "yen",
    "¢": "cents",
    "₹": "rupees",
    "₩": "won",
    "₽": "rubles",
    "°": "degrees",
    "×": "times",
    "÷": "divided by",
    "±": "plus or minus",
    "µ": "micro",
}

#: ASCII symbols with nothing to say (markup, decoration): replaced by a space. Brackets become
#: parentheses, which the symbol table keeps as a pause.
SILENT_SYMBOLS = {
    "*": " ",
    "_": " ",
    "~": " ",
    "^": " ",
    "|": " ",
    "\\": " ",
    "`": " ",
    "#": " ",
    FRACTION_SLASH: "/",
    "[": "(",
    "]": ")",
    "{": "(",
    "}": ")",
}

#: How "/" reads where nothing more specific claimed it ("and/or", "km/h" are handled earlier).
SLASH_WORD = "slash"

# ------------------------------------------------------------------------------------- money


class Currency(NamedTuple):
    """Words for one currency; empty minor names mean the currency has no minor unit."""

    singular: str
    plural: str
    minor_singular: str
    minor_plural: str


DOLLAR = Currency("dollar", "dollars", "cent", "cents")

#: Currency symbols written before (or, for some, after) an amount.
CURRENCY_SYMBOLS = {
    "$": DOLLAR,
    "US$": Currency("US dollar", "US dollars", "cent", "cents"),
    "C$": Currency("Canadian dollar", "Canadian dollars", "cent", "cents"),
    "A$": Currency("Australian dollar", "Australian dollars", "cent", "cents"),
    "£": Currency("pound", "pounds", "penny", "pence"),
    "€": Currency("euro", "euros", "cent", "cents"),
    "¥": Currency("yen", "yen", "", ""),
    "₹": Currency("rupee", "rupees", "paisa", "paise"),
    "₩": Currency("won", "won", "", ""),
    "₽": Currency("ruble", "rubles", "kopeck", "kopecks"),
    "¢": Currency("cent", "cents", "", ""),
}

#: Symbols that may also follow the amount ("20 €", "50¢").
CURRENCY_SYMBOLS_AFTER = ("€", "¢", "₽")

#: ISO 4217 codes, before or after an amount ("USD 5", "5 EUR").
CURRENCY_CODES = {
    "USD": DOLLAR,
    "EUR": CURRENCY_SYMBOLS["€"],
    "GBP": CURRENCY_SYMBOLS["£"],
    "JPY": CURRENCY_SYMBOLS["¥"],
    "INR": CURRENCY_SYMBOLS["₹"],
    "CAD": CURRENCY_SYMBOLS["C$"],
    "AUD": CURRENCY_SYMBOLS["A$"],
    "CHF": Currency("Swiss franc", "Swiss francs", "centime", "centimes"),
    "CNY": Currency("yuan", "yuan", "fen", "fen"),
    "RUB": CURRENCY_SYMBOLS["₽"],
    "KRW": CURRENCY_SYMBOLS["₩"],
}

#: Scale words after an amount ("$3 million", "$5bn", "$20k").
SCALES = {
    "thousand": "thousand",
    "million": "million",
    "billion": "billion",
    "trillion": "trillion",
    "k": "thousand",
    "K": "thousand",
    "m": "million",
    "M": "million",
    "mn": "million",
    "bn": "billion",
    "B": "billion",
    "tn": "trillion",
}

#: "per ..." after a price ("$15/hr", "€3/kg").
PER_UNITS = {
    "h": "hour",
    "hr": "hour",
    "hour": "hour",
    "day": "day",
    "wk": "week",
    "week": "week",
    "mo": "month",
    "month": "month",
    "yr": "year",
    "year": "year",
    "kg": "kilogram",
    "lb": "pound",
    "g": "gram",
    "ea": "each",
    "person": "person",
    "night": "night",
    "min": "minute",
    "ft": "foot",
    "sqft": "square foot",
    "m": "meter",
    "mi": "mile",
    "km": "kilometer",
    "gal": "gallon",
    "l": "liter",
    "L": "liter",
}

# ------------------------------------------------------------------------------------- units

#: Units read after a number, exact case: symbol -> (singular, plural). "MB" is not "Mb".
#: Left out on purpose because they are ordinary words or letters after numbers too:
#: "in", "a", "t", "l", "K", "A", "B", "C", "F", "G", "M".
UNITS = {
    "nm": ("nanometer", "nanometers"),
    "µm": ("micrometer", "micrometers"),
    "mm": ("millimeter", "millimeters"),
    "cm": ("centimeter", "centimeters"),
    "m": ("meter", "meters"),
    "km": ("kilometer", "kilometers"),
    "ft": ("foot", "feet"),
    "yd": ("yard", "yards"),
    "mi": ("mile", "miles"),
    "µg": ("microgram", "micrograms"),
    "mg": ("milligram", "milligrams"),
    "g": ("gram", "grams"),
    "kg": ("kilogram", "kilograms"),
    "lb": ("pound", "pounds"),
    "lbs": ("pound", "pounds"),
    "oz": ("ounce", "ounces"),
    "st": ("stone", "stone"),
    "ml": ("milliliter", "milliliters"),
    "mL": ("milliliter", "milliliters"),
    "cl": ("centiliter", "centiliters"),
    "dl": ("deciliter", "deciliters"),
    "dL": ("deciliter", "deciliters"),
    "L": ("liter", "liters"),
    "gal": ("gallon", "gallons"),
    "ns": ("nanosecond", "nanoseconds"),
    "µs": ("microsecond", "microseconds"),
    "ms": ("millisecond", "milliseconds"),
    "s": ("second", "seconds"),
    "sec": ("second", "seconds"),
    "secs": ("second", "seconds"),
    "min": ("minute", "minutes"),
    "mins": ("minute", "minutes"),
    "h": ("hour", "hours"),
    "hr": ("hour", "hours"),
    "hrs": ("hour", "hours"),
    "wk": ("week", "weeks"),
    "wks": ("week", "weeks"),
    "yr": ("year", "years"),
    "yrs": ("year", "years"),
    "mph": ("mile per hour", "miles per hour"),
    "kph": ("kilometer per hour", "kilometers per hour"),
    "kmh": ("kilometer per hour", "kilometers per hour"),
    "mpg": ("mile per gallon", "miles per gallon"),
    "rpm": ("revolution per minute", "revolutions per minute"),
    "psi": ("pound per square inch", "pounds per square inch"),
    "°C": ("degree Celsius", "degrees Celsius"),
    "°F": ("degree Fahrenheit", "degrees Fahrenheit"),
    "°": ("degree", "degrees"),
    "b": ("bit", "bits"),
    "kb": ("kilobit", "kilobits"),
    "Kb": ("kilobit", "kilobits"),
    "Mb": ("megabit", "megabits"),
    "Gb": ("gigabit", "gigabits"),
    "kB": ("kilobyte", "kilobytes"),
    "KB": ("kilobyte", "kilobytes"),
    "MB": ("megabyte", "megabytes"),
    "GB": ("gigabyte", "gigabytes"),
    "TB": ("terabyte", "terabytes"),
    "PB": ("petabyte", "petabytes"),
    "bps": ("bit per second", "bits per second"),
    "kbps": ("kilobit per second", "kilobits per second"),
    "Mbps": ("megabit per second", "megabits per second"),
    "Gbps": ("gigabit per second", "gigabits per second"),
    "Hz": ("hertz", "hertz"),
    "kHz": ("kilohertz", "kilohertz"),
    "MHz": ("megahertz", "megahertz"),
    "GHz": ("gigahertz", "gigahertz"),
    "dB": ("decibel", "decibels"),
    "mA": ("milliamp", "milliamps"),
    "mV": ("millivolt", "millivolts"),
    "kV": ("kilovolt", "kilovolts"),
    "kW": ("kilowatt", "kilowatts"),
    "MW": ("megawatt", "megawatts"),
    "GW": ("gigawatt", "gigawatts"),
    "kWh": ("kilowatt hour", "kilowatt hours"),
    "mAh": ("milliamp hour", "milliamp hours"),
    "cal": ("calorie", "calories"),
    "kcal": ("kilocalorie", "kilocalories"),
    "kJ": ("kilojoule", "kilojoules"),
    "cc": ("cubic centimeter", "cubic centimeters"),
    "tsp": ("teaspoon", "teaspoons"),
    "tbsp": ("tablespoon", "tablespoons"),
    "cup": ("cup", "cups"),
}

#: Units recognised only when glued to the number ("12V", "60W"): spaced, they are letters.
GLUED_ONLY_UNITS = {
    "V": ("volt", "volts"),
    "W": ("watt", "watts"),
    "A": ("amp", "amps"),
}

#: Units that need a space before them: "1990s" is a decade, "5 s" is five seconds.
UNITS_NEEDING_SPACE = frozenset({"s", "b", "st"})

#: Any-case spellings ("12KG", "3 kgs", "5 YRS", "3 mbps") of multi-letter units whose case does
#: not change their meaning in everyday text (megabytes win over millibars for "mb").
UNITS_ANY_CASE = {
    **{k.lower(): v for k, v in UNITS.items() if len(k) > 1 and k not in ("Mb", "Gb", "Kb", "b")},
    "mb": UNITS["MB"],
    "gb": UNITS["GB"],
    "tb": UNITS["TB"],
    "kgs": UNITS["kg"],
    "gms": UNITS["g"],
    "mgs": UNITS["mg"],
    "kms": UNITS["km"],
    "cms": UNITS["cm"],
    "mms": UNITS["mm"],
    "mls": UNITS["ml"],
    "ozs": UNITS["oz"],
    "gals": UNITS["gal"],
    "km/hr": UNITS["kph"],
    "kmph": UNITS["kph"],
    "mos": ("month", "months"),
    "mo": ("month", "months"),
}

#: Units that take "square"/"cubic" in front when a power follows ("5 m²", "3 cm3").
LENGTH_UNITS = frozenset({"nm", "µm", "mm", "cm", "m", "km", "ft", "yd", "mi", "in"})

#: Lengths after "sq"/"cu" ("1,200 sq ft"), where "in" is safe to read as inches.
AREA_UNITS = {**{k: UNITS[k] for k in LENGTH_UNITS if k in UNITS}, "in": ("inch", "inches")}

# ------------------------------------------------------------------------------------- dates

MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)

#: Lower-case month spellings (full names and abbreviations) to the spoken name.
MONTH_SPELLINGS = {
    **{month.lower(): month for month in MONTHS},
    "jan": "January",
    "feb": "February",
    "mar": "March",
    "apr": "April",
    "jun": "June",
    "jul": "July",
    "aug": "August",
    "sep": "September",
    "sept": "September",
    "oct": "October",
    "nov": "November",
    "dec": "December",
}

#: Month spellings that are also ordinary lower-case words: a date only with a capital, a
#: period, an ordinal suffix or a year.
MONTH_WORDS = frozenset({"may", "march", "jan", "mar", "dec", "sept"})

#: Weekday abbreviations before a date ("Mon., Jan. 5" -> "Monday, January fifth").
WEEKDAYS = {
    "mon": "Monday",
    "tue": "Tuesday",
    "tues": "Tuesday",
    "wed": "Wednesday",
    "thu": "Thursday",
    "thur": "Thursday",
    "thurs": "Thursday",
    "fri": "Friday",
    "sat": "Saturday",
    "sun": "Sunday",
}

# ------------------------------------------------------------------------------------- times

#: Time zone abbreviations read letter by letter after a clock time ("3 pm EST").
TIME_ZONES = frozenset(
    {
        "UTC",
        "GMT",
        "EST",
        "EDT",
        "CST",
        "CDT",
        "MST",
        "MDT",
        "PST",
        "PDT",
        "AKST",
        "AKDT",
        "HST",
        "AST",
        "ADT",
        "NST",
        "BST",
        "IST",
        "CET",
        "CEST",
        "EET",
        "EEST",
        "WET",
        "WEST",
        "MSK",
        "JST",
        "KST",
        "HKT",
        "SGT",
        "AEST",
        "AEDT",
        "ACST",
        "AWST",
        "NZST",
        "NZDT",
        "ET",
        "CT",
        "MT",
        "PT",
    }
)

# ------------------------------------------------------------------------------------- numbers

#: Denominators whose names are not their ordinals.
DENOMINATORS = {"2": ("half", "halves"), "4": ("quarter", "quarters")}

#: Denominators read as "thirds", "sixteenths"...; other fractions read "X over Y".
NAMED_DENOMINATORS = frozenset(
    {"2", "3", "4", "5", "6", "7", "8", "9", "10", "12", "16", "20", "32", "64", "100", "1000"}
)

#: Slash pairs with a fixed reading, not a fraction.
SLASH_IDIOMS = {
    "24/7": "twenty-four seven",
    "9/11": "nine eleven",
    "50/50": "fifty-fifty",
    "20/20": "twenty-twenty",
    "365/24/7": "three sixty-five twenty-four seven",
}

#: Roman numeral letter values.
ROMAN_VALUES = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}

#: Words after which a Roman numeral is a cardinal ("Chapter IV" -> "Chapter four"). Matched
#: case-insensitively; here, any Roman numeral counts, "I" and lower case included.
ROMAN_CARDINAL_CONTEXT = frozenset(
    {
        "act",
        "appendix",
        "article",
        "book",
        "bowl",
        "canto",
        "chapter",
        "class",
        "episode",
        "grade",
        "level",
        "part",
        "phase",
        "psalm",
        "round",
        "scene",
        "season",
        "section",
        "series",
        "stage",
        "step",
        "title",
        "tome",
        "type",
        "vol",
        "volume",
        "war",
    }
)

#: Names of monarchs and popes: a Roman numeral after them is "the <ordinal>" ("Henry VIII",
#: "Elizabeth I"). After other capitalised words only numerals of two or more letters made of
#: I, V and X count, read as cardinals ("Apollo XI", "Rocky II"), so "Malcolm X", "Plan B"
#: and "DC" stay letters.
REGNAL_NAMES = frozenset(
    {
        "Alexander",
        "Alfonso",
        "Amenhotep",
        "Anne",
        "Benedict",
        "Boniface",
        "Catherine",
        "Charles",
        "Clement",
        "Constantine",
        "Cyrus",
        "Darius",
        "David",
        "Edward",
        "Elizabeth",
        "Ferdinand",
        "Francis",
        "Frederick",
        "George",
        "Gregory",
        "Gustav",
        "Harald",
        "Henry",
        "Innocent",
        "Ivan",
        "James",
        "John",
        "Juan",
        "Leo",
        "Leopold",
        "Louis",
        "Ludwig",
        "Mary",
        "Napoleon",
        "Nicholas",
        "Olaf",
        "Paul",
        "Peter",
        "Philip",
        "Pius",
        "Ptolemy",
        "Ramesses",
        "Richard",
        "Robert",
        "Rudolf",
        "Sixtus",
        "Stephen",
        "Thutmose",
        "Urban",
        "Victor",
        "Wilhelm",
        "William",
    }
)

#: Titles before a regnal name ("King Harald V", "Pope Leo XIV"): the numeral is an ordinal
#: even when the name is not in REGNAL_NAMES.
REGNAL_TITLES = frozenset(
    {"King", "Queen", "Pope", "Emperor", "Empress", "Tsar", "Czar", "Pharaoh", "Prince", "Duke"}
)

#: Codes of US retirement plans and tax sections: digits read one by one with "oh" for zero.
SECTION_CODE_ZERO = "oh"

# ----------------------------------------------------------------------------- abbreviations

#: Titles that stand before a name: their period never ends a sentence when a name follows.
TITLES = {
    "Mr": "Mister",
    "Mrs": "Missus",
    "Ms": "Miz",
    "Prof": "Professor",
    "Capt": "Captain",
    "Sgt": "Sergeant",
    "Lt": "Lieutenant",
    "Col": "Colonel",
    "Gen": "General",
    "Gov": "Governor",
    "Sen": "Senator",
    "Rep": "Representative",
    "Rev": "Reverend",
    "Hon": "Honorable",
    "Mt": "Mount",
}

#: Titles also recognised without their period, when a capitalised name follows ("Mr Smith").
DOTLESS_TITLES = frozenset({"Mr", "Mrs", "Ms", "Dr", "Prof", "St"})

#: Abbreviations that close a name or a phrase: their period may also end the sentence.
TRAILING_ABBREVIATIONS = {
    "Jr": "Junior",
    "Sr": "Senior",
    "Inc": "Incorporated",
    "Ltd": "Limited",
    "Corp": "Corporation",
    "Dept": "Department",
    "Ave": "Avenue",
    "Blvd": "Boulevard",
    "Rd": "Road",
    "etc": "et cetera",
}


class Ambiguous(NamedTuple):
    """Readings of an abbreviation that means one thing before a name and another after one."""

    before_name: str
    after_name: str
    otherwise: str


AMBIGUOUS_ABBREVIATIONS = {
    "St": Ambiguous(before_name="Saint", after_name="Street", otherwise="Street"),
    "Dr": Ambiguous(before_name="Doctor", after_name="Drive", otherwise="Doctor"),
}

#: Mid-sentence abbreviations, matched case-insensitively; their period is kept only at the very
#: end of the text, because what follows "e.g." is often capitalised without ending anything.
INLINE_ABBREVIATIONS = {
    "e.g": "for example",
    "i.e": "that is",
    "a.k.a": "also known as",
    "vs": "versus",
    "approx": "approximately",
    "et al": "et al",
}

# ---------------------------------------------------------------------------------- acronyms

#: Capitalised abbreviations read as words (lower-cased so espeak does not spell them).
ACRONYMS_AS_WORDS = frozenset(
    {
        "AIDS",
        "ASCII",
        "CAPTCHA",
        "COVID",
        "DARPA",
        "FEMA",
        "FIFA",
        "GIF",
        "IKEA",
        "JPEG",
        "LASER",
        "LEGO",
        "MoMA",
        "NAFTA",
        "NASA",
        "NASCAR",
        "NASDAQ",
        "NATO",
        "OPEC",
        "OSHA",
        "PIN",
        "RADAR",
        "RAM",
        "ROM",
        "SARS",
        "SCUBA",
        "SIM",
        "SWAT",
        "TESOL",
        "UNESCO",
        "UNICEF",
        "WASP",
        "WYSIWYG",
    }
)

#: Mixed-case and pronounceable-looking abbreviations that are spelled anyway.
ACRONYMS_SPELLED = {
    "PhD": "P H D",
    "PhDs": "P H D's",
    "IEEE": "I triple E",
    "AAA": "triple A",
    "CEO": "C E O",
    "CFO": "C F O",
    "API": "A P I",
    "URL": "U R L",
    "USA": "U S A",
    "FAQ": "F A Q",
    "SQL": "S Q L",
    "EU": "E U",
    "UK": "U K",
    "US": "U S",
    "UN": "U N",
    "AI": "A I",
    "OK": "okay",
    "iOS": "i O S",
    "WWI": "World War One",
    "WWII": "World War Two",
    "macOS": "mac O S",
}

#: An all-capitals word of this many letters or fewer that is in none of the tables is spelled;
#: longer ones are read as words when they look pronounceable.
MAX_SPELLED_LETTERS = 4

#: Short, frequent English words that capitals mark as emphasis ("that is WRONG", "it TOPS OFF
#: the day", "I do NOT"), read as words; other short all-capitals words are spelled.
COMMON_SHORT_WORDS = frozenset(
    {
        "ALL",
        "AND",
        "ANY",
        "ARE",
        "ASK",
        "AWAY",
        "BACK",
        "BAD",
        "BE",
        "BEST",
        "BIG",
        "BUT",
        "BUY",
        "BY",
        "CAN",
        "COME",
        "COOL",
        "DAY",
        "DEAD",
        "DID",
        "DO",
        "DOES",
        "DONE",
        "DONT",
        "DOWN",
        "EACH",
        "EAT",
        "EVEN",
        "EVER",
        "FAST",
        "FEW",
        "FIND",
        "FINE",
        "FOR",
        "FREE",
        "FROM",
        "FUN",
        "GET",
        "GIVE",
        "GO",
        "GOD",
        "GOOD",
        "GOT",
        "HAD",
        "HAS",
        "HATE",
        "HAVE",
        "HE",
        "HELL",
        "HELP",
        "HER",
        "HERE",
        "HIGH",
        "HIM",
        "HIS",
        "HOME",
        "HOT",
        "HOW",
        "HUGE",
        "JUST",
        "KEEP",
        "KILL",
        "KNOW",
        "LAST",
        "LATE",
        "LESS",
        "LIFE",
        "LIKE",
        "LONG",
        "LOOK",
        "LOOT",
        "LOSE",
        "LOST",
        "LOT",
        "LOVE",
        "LOW",
        "MAKE",
        "MAN",
        "MANY",
        "MEN",
        "MINE",
        "MORE",
        "MOST",
        "MUCH",
        "MUST",
        "MY",
        "NEED",
        "NEVER",
        "NEW",
        "NEXT",
        "NICE",
        "NO",
        "NONE",
        "NOR",
        "NOT",
        "NOW",
        "OF",
        "OFF",
        "OLD",
        "ON",
        "ONCE",
        "ONE",
        "ONLY",
        "OUR",
        "OUT",
        "OVER",
        "OWN",
        "PAY",
        "PLAY",
        "PUT",
        "QUIT",
        "READ",
        "REAL",
        "RUN",
        "SAD",
        "SAID",
        "SAME",
        "SAVE",
        "SAY",
        "SEE",
        "SHE",
        "SHUT",
        "SO",
        "SOME",
        "STAY",
        "STOP",
        "SUCH",
        "SURE",
        "TAKE",
        "TELL",
        "THAN",
        "THAT",
        "THE",
        "THEM",
        "THEN",
        "THEY",
        "THIS",
        "TIME",
        "TO",
        "TOO",
        "TOP",
        "TOPS",
        "TRUE",
        "TRY",
        "TWO",
        "UP",
        "VERY",
        "WAIT",
        "WANT",
        "WAS",
        "WAY",
        "WE",
        "WELL",
        "WENT",
        "WERE",
        "WHAT",
        "WHEN",
        "WHO",
        "WHY",
        "WILL",
        "WIN",
        "WITH",
        "WORK",
        "YES",
        "YET",
        "YOU",
        "YOUR",
    }
)

#: Two consonants that may start an English word, so "STOP" or "BRAVO" could be words.
WORD_ONSETS = frozenset(
    {"BL", "BR", "CH", "CL", "CR", "DR", "FL", "FR", "GL", "GR", "KN", "PH", "PL", "PR", "SC"}
    | {"SH", "SK", "SL", "SM", "SN", "SP", "ST", "SW", "TH", "TR", "TW", "WH", "WR"}
)

#: Text is "shouted" (capitals are emphasis, not abbreviations) when at least this share of its
#: letters are capitals and it has at least SHOUTED_MIN_WORDS words.
SHOUTED_SHARE = 0.7
SHOUTED_MIN_WORDS = 4

# ------------------------------------------------------------------------------ web addresses

#: Top-level domains that make a bare "name.tld" an address; the ones read as words are listed
#: with their reading, the others are spelled.
TLD_WORDS = {"com": "com", "org": "org", "net": "net", "gov": "gov", "info": "info"}
TLDS = frozenset(
    {
        *TLD_WORDS,
        "edu",
        "io",
        "ai",
        "co",
        "uk",
        "de",
        "fr",
        "ca",
        "au",
        "eu",
        "dev",
        "app",
        "tv",
        "ly",
        "nl",
        "ch",
        "se",
        "jp",
    }
)

#: How the punctuation of an address is read.
URL_PUNCTUATION = {
    ".": "dot",
    "/": "slash",
    "-": "dash",
    "_": "underscore",
    ":": "colon",
    "?": "question mark",
    "=": "equals",
    "&": "and",
    "#": "hash",
    "~": "tilde",
    "+": "plus",
    "%": "percent",
    "@": "at",
}

#: Address parts that are said as letters.
URL_SPELLED_PARTS = frozenset({"www", "http", "https", "ftp"})
