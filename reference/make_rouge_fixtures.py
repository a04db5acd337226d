#!/usr/bin/env python3
"""ROUGE-1/2/L from Google's rouge-score 0.1.2 (nltk 3.10.4's Porter stemmer), for Tests/EvaluationTests/Fixtures/rouge/.

Set-up: python3 -m venv .venv-rouge && .venv-rouge/bin/pip install -r reference/requirements-rouge.txt
Writes:
  * pairs.json: {"versions", "pairs": [{"target", "prediction", "tokens": [target tokens, prediction tokens],
    "rouge1"|"rouge2"|"rougeL": [precision, recall, fmeasure]}], "mean": {"rouge1", "rouge2", "rougeL"}} — the
    scorer is RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True), called as score(target, prediction);
    "mean" is the plain mean of the F-measures over all pairs (what `orpo rouge` prints);
  * stems.tsv: `word<TAB>PorterStemmer().stem(word)` for a few thousand words that exercise every rule of the
    stemmer in its default NLTK_EXTENSIONS mode (irregular forms, every step's suffixes and conditions, y runs).
Everything is generated from fixed seeds: rerunning the script gives the same files.
"""
import json
import os
import random
import sys

import nltk
import rouge_score
from importlib.metadata import version
from nltk.stem.porter import PorterStemmer
from rouge_score import rouge_scorer

ROOT = os.path.join(os.path.dirname(__file__), "..")
OUT = os.path.join(ROOT, "Tests", "EvaluationTests", "Fixtures", "rouge")

# Suffixes of every rule of nltk's porter.py (steps 1a to 5b, NLTK extensions included), and the examples in its
# docstrings.
SUFFIXES = ["sses", "ies", "ss", "s", "eed", "ed", "ing", "ied", "at", "bl", "iz", "y", "ational", "tional", "enci",
            "anci", "izer", "bli", "abli", "alli", "entli", "eli", "ousli", "ization", "ation", "ator", "alism",
            "iveness", "fulness", "ousness", "aliti", "iviti", "biliti", "fulli", "logi", "icate", "ative", "alize",
            "iciti", "ical", "ful", "ness", "al", "ance", "ence", "er", "ic", "able", "ible", "ant", "ement", "ment",
            "ent", "ion", "sion", "tion", "ou", "ism", "ate", "iti", "ous", "ive", "ize", "e", "ll", "lled", "lling",
            "ies", "ied", "izing", "ated", "ating", "bled", "bling", "fulnesses", "ations", "ically", "alling"]
DOC_WORDS = """caresses ponies ties caress cats feed agreed plastered bled motoring sing conflated troubled sized
hopping tanned falling hissing fizzed failing filing happy sky relational conditional rational valenci hesitanci
digitizer conformabli radicalli differentli vileli analogousli vietnamization predication operator feudalism
decisiveness hopefulness callousness formaliti sensitiviti sensibiliti triplicate formative formalize electriciti
electrical hopeful goodness revival allowance inference airliner gyroscopic adjustable defensible irritant
replacement adjustment dependent adoption homologou communism activate angulariti homologous effective bowdlerize
probate rate cease controll roll toy syzygy trouble oats trees ivy troubles private oaten orrery falafel
architecture flies dies died spied spy fly try tried enjoy enjoyment geology geologi theologi archaeologi
philologi generously generalization oscillators connected connecting connection connections connective
sky skies dying lying tying news innings inning outings outing cannings canning howe proceed exceed succeed
proceeding exceeded succeeds yyyy yyyyy yay yoyo bye eye aye ye y yy a i be at is as ion ions lion feeds
need needed deed indeed bleed breed""".split()
ROOTS = """connect relat condit rat valen hesit digit conform radic differ vil analog vietnam predic oper feud decis
hope callous formal sensit sensib tripl form electr good reviv allow infer airlin gyroscop adjust defens irrit replac
depend adopt homolog commun activ angular effect bowdler probat ceas control rol happ sky cat pony tie fe agr plaster
bl motor s conflat troubl siz hop tan fal his fiz fail fil fl sp tr enjoy geo theo archaeo philo gener oscill run
walk talk jump stop plan hum beg drop ship trip fit sit hit admit permit commit occur prefer refer transfer travel
cancel label model signal total equal rival fuel dial trial sens nation ration educ cre tax fix mix box buy play
say pay stay obey destroy employ annoy deploy bus gas yes plus bias atlas canvas cact radi fung stimul syllab foc
nucle alumn analys bas cris diagnos ellips hypothes oas paralys parenthes synops thes crit phenomen criteri dat
medi memorand curricul bacteri agend strat kn wr gn ps rh wh qu x z q j v w k""".split()
CV_LETTERS = "aeiouybcdfghklmnprstvwxz"


def stem_words():
    rng = random.Random(2403)
    words = list(DOC_WORDS)
    for root in ROOTS:
        for suffix in rng.sample(SUFFIXES, 12):
            words.append(root + suffix)
    for _ in range(700):  # random letter strings, y-heavy, with a rule suffix half of the time
        n = rng.randint(1, 9)
        w = "".join(rng.choice(CV_LETTERS + "yyy") for _ in range(n))
        if rng.random() < 0.5:
            w += rng.choice(SUFFIXES)
        words.append(w)
    seen, unique = set(), []
    for w in words:
        if w not in seen:
            seen.add(w)
            unique.append(w)
    stemmer = PorterStemmer()
    return [(w, stemmer.stem(w)) for w in unique]


VOCAB = """the a an of to in on at for with and or but not is are was were be been being have has had do does did
cat dog mat sat run running runs ran quick brown fox jumps jumped jumping over lazy lazily answer answers answered
question questions questioning capital capitals city cities country countries France Paris Berlin Germany Tokyo
sum plus minus equals equal number numbers numbering 12 7 42 3.14 1,000 100% $5 kilometres kilometers miles
convert converted conversion conversions opposite opposites antonym antonyms spelling spelled spells sorted sort
sorting format formatted formats formatting concise concisely rambling rambled generally generalization happy
happiness happily relational conditional operator operators effective effectively adjustable adjustment
""".split()


def perturb(rng, words):
    out = list(words)
    for _ in range(rng.randint(0, max(1, len(out) // 2))):
        op = rng.random()
        if op < 0.3 and out:
            del out[rng.randrange(len(out))]
        elif op < 0.6:
            out.insert(rng.randint(0, len(out)), rng.choice(VOCAB))
        elif op < 0.8 and out:
            out[rng.randrange(len(out))] = rng.choice(VOCAB)
        elif len(out) > 1:
            i, j = rng.randrange(len(out)), rng.randrange(len(out))
            out[i], out[j] = out[j], out[i]
    return out


def pairs():
    handmade = [
        ("", ""), ("", "something"), ("something", ""), ("   ", " \t\n "), ("!!!", "???"), ("a", "a"),
        ("The cat sat on the mat.", "The cat sat on the mat."),
        ("The quick brown fox jumps over the lazy dog", "The quick brown dog jumps on the log."),
        ("THE CAT", "the cat"), ("ThE cAt SaT", "the CAT sat"),
        ("Hello, world! How's it going?", "hello world hows it going"),
        ("don't won't can't", "dont wont cant"), ("e-mail well-known state-of-the-art", "e mail well known state of the art"),
        ("12 + 30 = 42", "12 plus 30 equals 42"), ("3.14159 is pi; 2.71828 is e", "pi is 3.14159"),
        ("1,000,000 dollars", "1000000 dollars"), ("$5.00 (five dollars) 100%", "5 00 five dollars 100"),
        ("the the the the", "the the"), ("the the", "the the the the"), ("a b a b a b", "b a b a"),
        ("running runs ran runner", "run running runner runs"),
        ("generalizations generalization generalize general", "generally generals generous"),
        ("happy happiness happily", "happi happy"), ("relational conditional rational", "relate condition ration"),
        ("connected connecting connection connections", "connect"),
        ("caresses ponies ties caress cats", "caress poni ti caress cat"),
        ("feed agreed plastered bled motoring sing", "feed agree plaster bled motor sing"),
        ("conflated troubled sized hopping tanned falling hissing fizzed failing filing",
         "conflate trouble size hop tan fall hiss fizz fail file"),
        ("skies dying lying tying news innings outings cannings", "sky die lie tie news inning outing canning"),
        ("proceed exceed succeed howe", "proceeding exceeded succeeds howes"),
        ("enjoy enjoyment syzygy yyyy", "enjoy enjoy syzygi yyyy"),
        ("Café naïve résumé", "cafe naive resume"), ("İstanbul KELVIN \u212a", "i stanbul kelvin k"),
        ("\u212aelvin and \u0130i", "kelvin and i i"), ("日本語のテキスト", "日本語"), ("emoji 😀 party 🎉 time", "emoji party time"),
        ("tab\tseparated\nnew line\r\nwindows", "tab separated new line windows"),
        ("under_score snake_case camelCase", "under score snake case camelcase"),
        ("x", "y"), ("ab", "ab cd"), ("abc abcd abcde", "abcde abcd abc"), ("1 2 3 4 5", "5 4 3 2 1"),
        ("Paris is the capital of France.", "The capital of France is Paris."),
        ("5 kilometres is 3.11 miles.", "5 km = 3.107 miles"),
        ("The opposite of hot is cold.", "Cold is the opposite of hot, and the opposite of cold is hot."),
        ("Sorted: apple, banana, cherry", "apple banana cherry, sorted alphabetically"),
    ]
    rng = random.Random(1707)
    out = list(handmade)
    for _ in range(150):
        n = rng.choice([1, 2, 3, 5, 8, 13, 21, 40])
        words = [rng.choice(VOCAB) for _ in range(n)]
        target = " ".join(words)
        pred = " ".join(perturb(rng, words))
        if rng.random() < 0.3:
            pred = pred.upper()
        if rng.random() < 0.3:
            pred = pred.replace(" ", rng.choice([", ", "  ", "-", "; ", "\n"]))
        out.append((target, pred))
    for _ in range(12):  # long texts (LCS over hundreds of tokens)
        words = [rng.choice(VOCAB) for _ in range(rng.randint(200, 400))]
        out.append((" ".join(words), " ".join(perturb(rng, words))))
    stems = [w for w, _ in stem_words()]
    for _ in range(30):  # stemmer-heavy pairs: words against their inflections
        words = rng.sample(stems, 10)
        out.append((" ".join(words), " ".join(rng.sample(stems, 5) + words[:5])))
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    tokenizer = scorer._tokenizer
    rows, sums = [], {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}
    for target, prediction in pairs():
        s = scorer.score(target, prediction)
        row = {"target": target, "prediction": prediction,
               "tokens": [tokenizer.tokenize(target), tokenizer.tokenize(prediction)]}
        for k in sums:
            row[k] = [s[k].precision, s[k].recall, s[k].fmeasure]
            sums[k] += s[k].fmeasure
        rows.append(row)
    versions = {"python": sys.version.split()[0], "rouge-score": version("rouge-score"), "nltk": nltk.__version__}
    doc = {"versions": versions, "pairs": rows, "mean": {k: v / len(rows) for k, v in sums.items()}}
    with open(os.path.join(OUT, "pairs.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=0)
        f.write("\n")
    words = stem_words()
    with open(os.path.join(OUT, "stems.tsv"), "w", encoding="utf-8") as f:
        f.write(f"# nltk {nltk.__version__} PorterStemmer() (NLTK_EXTENSIONS): word<TAB>stem\n")
        for w, s in words:
            f.write(f"{w}\t{s}\n")
    print(f"{len(rows)} pairs, {len(words)} stemmed words -> {OUT}")


if __name__ == "__main__":
    main()
