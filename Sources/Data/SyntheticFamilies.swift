// SyntheticFamilies.swift — the task families of the built-in synthetic preference data: word banks, templates and
// one generator per family. "arith" and "concise" are exact ports of reference/make_prefs.py (same draws, in the
// same order, from the same Python Mersenne Twister), so the two produce identical rows for a seed.

/// One generated question with a right answer (chosen) and a wrong or worse one (rejected).
struct SyntheticItem {
  var question: String
  var chosen: String
  var rejected: String
}

/// Fills `{name}` fields like Python's `str.format(**values)` (single pass; the templates here use no braces
/// otherwise).
func fill(_ template: String, _ values: [String: String]) -> String {
  var output = ""
  var rest = Substring(template)
  while let open = rest.firstIndex(of: "{") {
    output += rest[..<open]
    guard let close = rest[open...].firstIndex(of: "}") else { break }
    let name = String(rest[rest.index(after: open)..<close])
    guard let value = values[name] else { preconditionFailure("template field {\(name)} has no value") }
    output += value
    rest = rest[rest.index(after: close)...]
  }
  output += rest
  return output
}

/// `x[0].upper() + x[1:]`.
func capitalizedFirst(_ text: String) -> String {
  guard let first = text.first else { return text }
  return first.uppercased() + text.dropFirst()
}

enum SyntheticBanks {
  // ------------------------------------------------------------------ make_prefs.py "arith"
  static let arithmeticQuestions: [String: [String]] = [
    "+": ["What is {a} + {b}?", "Compute {a} + {b}.", "What is {a} plus {b}?",
          "Add {a} and {b}.", "What do you get if you add {a} and {b}?"],
    "-": ["What is {a} - {b}?", "Compute {a} - {b}.", "What is {a} minus {b}?",
          "Subtract {b} from {a}.", "What is {b} less than {a}?"],
    "*": ["What is {a} * {b}?", "Compute {a} x {b}.", "What is {a} times {b}?",
          "Multiply {a} by {b}.", "What is the product of {a} and {b}?"],
  ]
  static let arithmeticAnswers = ["{a} {op} {b} = {c}.", "The answer is {c}.", "It is {c}.",
                                  "{a} {op} {b} equals {c}.", "The result is {c}."]

  // ---------------------------------------------------------------- make_prefs.py "concise"
  static let capitals: [(String, String)] = [
    ("France", "Paris"), ("Germany", "Berlin"), ("Italy", "Rome"), ("Spain", "Madrid"), ("Japan", "Tokyo"),
    ("Canada", "Ottawa"), ("Egypt", "Cairo"), ("Kenya", "Nairobi"), ("Peru", "Lima"), ("Norway", "Oslo"),
    ("Sweden", "Stockholm"), ("Greece", "Athens"), ("Portugal", "Lisbon"), ("Poland", "Warsaw"),
    ("Austria", "Vienna"), ("Ireland", "Dublin"), ("Chile", "Santiago"), ("Cuba", "Havana"),
    ("Finland", "Helsinki"), ("Denmark", "Copenhagen"), ("Hungary", "Budapest"), ("Thailand", "Bangkok"),
    ("Argentina", "Buenos Aires"), ("Russia", "Moscow"), ("China", "Beijing"), ("India", "New Delhi"),
    ("Mexico", "Mexico City"), ("Australia", "Canberra"), ("Turkey", "Ankara"), ("Belgium", "Brussels"),
  ]
  static let opposites: [(String, String)] = [
    ("hot", "cold"), ("big", "small"), ("fast", "slow"), ("up", "down"), ("light", "dark"), ("happy", "sad"),
    ("open", "closed"), ("early", "late"), ("full", "empty"), ("hard", "soft"), ("young", "old"), ("wet", "dry"),
    ("strong", "weak"), ("rich", "poor"), ("loud", "quiet"), ("high", "low"), ("thick", "thin"), ("near", "far"),
    ("true", "false"), ("win", "lose"),
  ]
  static let plurals: [(String, String)] = [
    ("mouse", "mice"), ("child", "children"), ("goose", "geese"), ("tooth", "teeth"), ("foot", "feet"),
    ("man", "men"), ("woman", "women"), ("leaf", "leaves"), ("knife", "knives"), ("wolf", "wolves"),
    ("box", "boxes"), ("city", "cities"), ("baby", "babies"), ("person", "people"), ("cactus", "cacti"),
    ("ox", "oxen"), ("sheep", "sheep"), ("fish", "fish"), ("half", "halves"), ("potato", "potatoes"),
  ]
  static let colors: [(String, String)] = [
    ("a ripe banana", "yellow"), ("grass", "green"), ("the clear daytime sky", "blue"), ("fresh snow", "white"),
    ("coal", "black"), ("a ripe tomato", "red"), ("an orange", "orange"), ("a lemon", "yellow"),
    ("a polar bear's fur", "white"), ("a crow", "black"), ("a lime", "green"), ("a ripe strawberry", "red"),
  ]
  static let units: [(String, String, String)] = [
    ("minutes", "an hour", "60"), ("seconds", "a minute", "60"), ("hours", "a day", "24"), ("days", "a week", "7"),
    ("months", "a year", "12"), ("centimeters", "a meter", "100"), ("grams", "a kilogram", "1000"),
    ("meters", "a kilometer", "1000"), ("eggs", "a dozen", "12"), ("years", "a decade", "10"),
    ("years", "a century", "100"), ("sides", "a triangle", "3"), ("sides", "a hexagon", "6"),
    ("legs", "a spider", "8"), ("wheels", "a bicycle", "2"),
  ]
  static let openers = [
    "Well, that is a really interesting question, and I am glad you asked it.",
    "Great question! There is actually quite a lot to say about this.",
    "Hmm, let me think about this carefully for a moment before answering.",
    "Okay, so this is something that people ask about fairly often, actually.",
    "That is a good one, and honestly it deserves a thoughtful answer.",
  ]
  static let middles = [
    "When it comes to {t}, there are many different things to keep in mind.",
    "People have talked about {t} for a very long time, in many ways.",
    "It is worth remembering that {t} can sometimes be a bit confusing.",
    "Of course, {t} is a topic with a lot of little details to it.",
  ]
  static let hedges = [
    "If I remember correctly, and I think I do, {f}.",
    "Basically, to make a long story short, {f}.",
    "So, after thinking it over, I would say that {f}.",
    "Anyway, the main point here is that {f}.",
  ]
  static let closers = [
    "I hope that helps, and let me know if you want more details!",
    "Anyway, that is more or less the whole story, I think.",
    "Feel free to ask if anything about this is still unclear.",
    "So yes, that is my rather long answer to your short question.",
  ]

  // ------------------------------------------------------------------------ our own families
  /// (word, antonym, a synonym: the wrong answer).
  static let antonyms: [(String, String, String)] = [
    ("hot", "cold", "warm"), ("big", "small", "large"), ("fast", "slow", "quick"), ("happy", "sad", "glad"),
    ("bright", "dim", "shiny"), ("full", "empty", "filled"), ("hard", "soft", "firm"), ("young", "old", "youthful"),
    ("wet", "dry", "damp"), ("strong", "weak", "powerful"), ("rich", "poor", "wealthy"), ("loud", "quiet", "noisy"),
    ("begin", "end", "start"), ("thick", "thin", "dense"), ("near", "far", "close"), ("ancient", "modern", "old"),
    ("brave", "cowardly", "bold"), ("clean", "dirty", "tidy"), ("wise", "foolish", "clever"),
    ("cheap", "expensive", "inexpensive"), ("win", "lose", "succeed"), ("accept", "refuse", "agree"),
    ("increase", "decrease", "grow"), ("always", "never", "forever"), ("friend", "enemy", "pal"),
  ]
  /// (correct spelling, a common misspelling).
  static let spellings: [(String, String)] = [
    ("receive", "recieve"), ("separate", "seperate"), ("definitely", "definately"), ("necessary", "neccessary"),
    ("tomorrow", "tommorow"), ("beginning", "begining"), ("believe", "beleive"), ("calendar", "calender"),
    ("friend", "freind"), ("government", "goverment"), ("library", "libary"), ("address", "adress"),
    ("weird", "wierd"), ("until", "untill"), ("February", "Febuary"), ("argument", "arguement"),
    ("business", "buisness"), ("environment", "enviroment"), ("accommodate", "accomodate"),
    ("embarrass", "embarass"), ("occurrence", "occurence"), ("restaurant", "restaraunt"), ("rhythm", "rythm"),
    ("surprise", "suprise"), ("vacuum", "vaccum"),
  ]
  /// (from unit, to unit, factor, plausible wrong factors).
  static let conversions: [(String, String, Int, [Int])] = [
    ("kilometers", "meters", 1000, [100, 10_000]), ("meters", "centimeters", 100, [10, 1000]),
    ("kilograms", "grams", 1000, [100, 10_000]), ("liters", "milliliters", 1000, [100, 10_000]),
    ("hours", "minutes", 60, [100, 24]), ("minutes", "seconds", 60, [100, 30]), ("days", "hours", 24, [12, 60]),
    ("weeks", "days", 7, [5, 10]), ("years", "months", 12, [10, 52]), ("feet", "inches", 12, [10, 100]),
    ("centimeters", "millimeters", 10, [100, 12]), ("dozens", "items", 12, [10, 20]),
  ]
}

/// `_pick` in make_prefs.py: every 5th fact of a bank (index % 5 == 0) belongs to the test split only, so held-out
/// questions ask about facts never seen in training.
func pickFact<T>(_ random: inout PythonRandom, _ bank: [T], _ split: SyntheticPreferences.Split) -> T {
  let items = bank.enumerated().filter { ($0.offset % 5 == 0) == (split == .test) }.map(\.element)
  return random.choice(items)
}

enum SyntheticFamilyGenerators {
  typealias Banks = SyntheticBanks

  /// make_prefs.py `arith_row`: small-integer arithmetic; rejected is the same sentence with a result off by 1–3,
  /// or, for half of the products, off by one multiplicand.
  static func arithmetic(_ random: inout PythonRandom, _ split: SyntheticPreferences.Split) -> SyntheticItem {
    let op = random.choice(["+", "+", "-", "-", "*"])
    let a: Int, b: Int, c: Int
    switch op {
    case "+":
      a = random.integer(in: 2...99); b = random.integer(in: 2...99); c = a + b
    case "-":
      a = random.integer(in: 10...99); b = random.integer(in: 1...(a - 1)); c = a - b
    default:
      a = random.integer(in: 2...12); b = random.integer(in: 2...12); c = a * b
    }
    let question = fill(random.choice(Banks.arithmeticQuestions[op]!), ["a": "\(a)", "b": "\(b)"])
    let answer = random.choice(Banks.arithmeticAnswers)
    var wrong: Int
    if op == "*" && random.nextDouble() < 0.5 {
      wrong = c + random.choice([-1, 1]) * a
    } else {
      wrong = c + random.choice([-3, -2, -1, 1, 2, 3])
    }
    if wrong < 0 { wrong = c + random.integer(in: 1...3) }
    let symbol = op == "*" ? "x" : op
    let values = ["a": "\(a)", "b": "\(b)", "op": symbol]
    return SyntheticItem(question: question,
                         chosen: fill(answer, values.merging(["c": "\(c)"]) { $1 }),
                         rejected: fill(answer, values.merging(["c": "\(wrong)"]) { $1 }))
  }

  /// make_prefs.py `concise_item`: a short fact question, its concise answer, and the topic and fact the rambling
  /// answer is built from.
  static func conciseItem(_ random: inout PythonRandom, _ split: SyntheticPreferences.Split)
    -> (question: String, short: String, topic: String, fact: String) {
    let kind = random.choice(["cap", "opp", "plu", "col", "unit"])
    switch kind {
    case "cap":
      let (country, capital) = pickFact(&random, Banks.capitals, split)
      let question = fill(random.choice(["What is the capital of {x}?", "Name the capital city of {x}.",
                                         "Which city is the capital of {x}?"]), ["x": country])
      let short = fill(random.choice(["The capital of {x} is {a}.", "{a}.", "It is {a}."]), ["x": country, "a": capital])
      return (question, short, "capital cities", "the capital of \(country) is \(capital)")
    case "opp":
      var (word, answer) = pickFact(&random, Banks.opposites, split)
      if random.nextDouble() < 0.5 { swap(&word, &answer) }
      let question = fill(random.choice(["What is the opposite of \"{x}\"?", "Give the antonym of \"{x}\".",
                                         "What word means the opposite of \"{x}\"?"]), ["x": word])
      let short = fill(random.choice(["The opposite of \"{x}\" is \"{a}\".", "\"{a}\".", "It is \"{a}\"."]),
                       ["x": word, "a": answer])
      return (question, short, "word meanings", "the opposite of \"\(word)\" is \"\(answer)\"")
    case "plu":
      let (word, answer) = pickFact(&random, Banks.plurals, split)
      let question = fill(random.choice(["What is the plural of \"{x}\"?", "How do you write more than one \"{x}\"?",
                                         "Give the plural form of \"{x}\"."]), ["x": word])
      let short = fill(random.choice(["The plural of \"{x}\" is \"{a}\".", "\"{a}\".", "It is \"{a}\"."]),
                       ["x": word, "a": answer])
      return (question, short, "English grammar", "the plural of \"\(word)\" is \"\(answer)\"")
    case "col":
      let (thing, color) = pickFact(&random, Banks.colors, split)
      let question = fill(random.choice(["What color is {x}?", "What is the usual color of {x}?"]), ["x": thing])
      let short = fill(random.choice(["{X} is {a}.", "It is {a}.", "{A}."]),
                       ["X": capitalizedFirst(thing), "a": color, "A": capitalizedFirst(color)])
      return (question, short, "colors", "\(thing) is \(color)")
    default:
      let (small, big, count) = pickFact(&random, Banks.units, split)
      let question = fill(random.choice(["How many {s} are in {b}?", "How many {s} does {b} have?"]),
                          ["s": small, "b": big])
      let short = fill(random.choice(["There are {n} {s} in {b}.", "{n}.", "It is {n}."]),
                       ["n": count, "s": small, "b": big])
      return (question, short, "counting and units", "there are \(count) \(small) in \(big)")
    }
  }

  /// make_prefs.py `concise_row`: chosen is the concise answer, rejected a rambling one with the same fact.
  static func concise(_ random: inout PythonRandom, _ split: SyntheticPreferences.Split) -> SyntheticItem {
    let item = conciseItem(&random, split)
    var parts = [random.choice(Banks.openers)]
    parts.append(fill(random.choice(Banks.middles), ["t": item.topic]))
    parts.append(fill(random.choice(Banks.hedges), ["f": item.fact]))
    parts.append(random.choice(Banks.closers))
    if random.nextDouble() < 0.5 { parts.remove(at: 1) }
    return SyntheticItem(question: item.question, chosen: item.short, rejected: parts.joined(separator: " "))
  }

  /// Capital cities: rejected names another country's capital in the same sentence.
  static func capitals(_ random: inout PythonRandom, _ split: SyntheticPreferences.Split) -> SyntheticItem {
    let (country, capital) = pickFact(&random, Banks.capitals, split)
    let wrong = random.choice(Banks.capitals.map(\.1).filter { $0 != capital })
    let question = fill(random.choice(["What is the capital of {x}?", "Which city is the capital of {x}?",
                                       "Name the capital of {x}."]), ["x": country])
    let answer = random.choice(["The capital of {x} is {a}.", "It is {a}.", "{a} is the capital of {x}."])
    return SyntheticItem(question: question, chosen: fill(answer, ["x": country, "a": capital]),
                         rejected: fill(answer, ["x": country, "a": wrong]))
  }

  /// A fixed answer format: the prompt asks for `Answer: X`; rejected has the right X in another format.
  static func answerFormat(_ random: inout PythonRandom, _ split: SyntheticPreferences.Split) -> SyntheticItem {
    let question: String
    let answer: String
    switch random.choice(["add", "sub", "cap", "plu"]) {
    case "add":
      let a = random.integer(in: 2...30), b = random.integer(in: 2...30)
      question = "What is \(a) + \(b)?"; answer = "\(a + b)"
    case "sub":
      let a = random.integer(in: 10...40), b = random.integer(in: 1...(a - 1))
      question = "What is \(a) - \(b)?"; answer = "\(a - b)"
    case "cap":
      let (country, capital) = pickFact(&random, Banks.capitals, split)
      question = "What is the capital of \(country)?"; answer = capital
    default:
      let (word, plural) = pickFact(&random, Banks.plurals, split)
      question = "What is the plural of \"\(word)\"?"; answer = plural
    }
    let instruction = random.choice(["{q} Reply in the form \"Answer: X\".",
                                     "{q} Give your reply as \"Answer: <answer>\".",
                                     "{q} Answer with \"Answer:\" followed by the answer only."])
    let wrongFormat = random.choice(["{x}", "The answer is {x}.", "{x} is the answer.", "Answer = {x}",
                                     "My answer: {x}"])
    return SyntheticItem(question: fill(instruction, ["q": question]), chosen: "Answer: \(answer)",
                         rejected: fill(wrongFormat, ["x": answer]))
  }

  /// Unit conversion: rejected multiplies by a plausible wrong factor. Every 5th conversion is test-only.
  static func unitConversion(_ random: inout PythonRandom, _ split: SyntheticPreferences.Split) -> SyntheticItem {
    let (from, to, factor, wrongFactors) = pickFact(&random, Banks.conversions, split)
    let amount = random.integer(in: 2...9)
    let wrongFactor = random.choice(wrongFactors)
    let question = fill(random.choice(["Convert {n} {f} to {t}.", "How many {t} are in {n} {f}?",
                                       "{n} {f} is how many {t}?"]), ["n": "\(amount)", "f": from, "t": to])
    let answer = random.choice(["{n} {f} is {v} {t}.", "{v} {t}.", "That is {v} {t}."])
    let values = ["n": "\(amount)", "f": from, "t": to]
    return SyntheticItem(question: question,
                         chosen: fill(answer, values.merging(["v": "\(amount * factor)"]) { $1 }),
                         rejected: fill(answer, values.merging(["v": "\(amount * wrongFactor)"]) { $1 }))
  }

  /// Antonyms: rejected gives a synonym instead of the opposite.
  static func antonyms(_ random: inout PythonRandom, _ split: SyntheticPreferences.Split) -> SyntheticItem {
    let (word, antonym, synonym) = pickFact(&random, Banks.antonyms, split)
    let question = fill(random.choice(["What is an antonym of \"{x}\"?",
                                       "Name a word that means the opposite of \"{x}\".",
                                       "Which word is the antonym of \"{x}\"?"]), ["x": word])
    let answer = random.choice(["An antonym of \"{x}\" is \"{a}\".", "\"{a}\".", "The antonym is \"{a}\"."])
    return SyntheticItem(question: question, chosen: fill(answer, ["x": word, "a": antonym]),
                         rejected: fill(answer, ["x": word, "a": synonym]))
  }

  /// Spelling: pick the right one of two spellings; rejected picks the common misspelling.
  static func spelling(_ random: inout PythonRandom, _ split: SyntheticPreferences.Split) -> SyntheticItem {
    let (correct, misspelled) = pickFact(&random, Banks.spellings, split)
    let (first, second) = random.nextDouble() < 0.5 ? (correct, misspelled) : (misspelled, correct)
    let question = fill(random.choice(["Which spelling is correct: \"{p}\" or \"{q}\"?",
                                       "Is it spelled \"{p}\" or \"{q}\"?",
                                       "Which is the correct spelling, \"{p}\" or \"{q}\"?"]), ["p": first, "q": second])
    let answer = random.choice(["The correct spelling is \"{w}\".", "\"{w}\".", "It is spelled \"{w}\"."])
    return SyntheticItem(question: question, chosen: fill(answer, ["w": correct]), rejected: fill(answer, ["w": misspelled]))
  }

  /// Sorting 3–5 distinct numbers: rejected swaps two neighbours of the sorted list, or (a quarter of the time)
  /// sorts from largest to smallest.
  static func sorting(_ random: inout PythonRandom, _ split: SyntheticPreferences.Split) -> SyntheticItem {
    let count = random.integer(in: 3...5)
    var numbers: [Int] = []
    while numbers.count < count {
      let number = random.integer(in: 1...50)
      if !numbers.contains(number) { numbers.append(number) }
    }
    let sorted = numbers.sorted()
    var wrong = sorted
    if random.nextDouble() < 0.25 {
      wrong.reverse()
    } else {
      let position = random.integer(in: 0...(count - 2))
      wrong.swapAt(position, position + 1)
    }
    func list(_ values: [Int]) -> String { values.map(String.init).joined(separator: ", ") }
    let question = fill(random.choice(["Sort these numbers from smallest to largest: {l}.",
                                       "Put these numbers in increasing order: {l}.",
                                       "Arrange in ascending order: {l}."]), ["l": list(numbers)])
    let answer = random.choice(["{s}", "The sorted list is {s}.", "In order: {s}."])
    return SyntheticItem(question: question, chosen: fill(answer, ["s": list(sorted)]),
                         rejected: fill(answer, ["s": list(wrong)]))
  }
}
