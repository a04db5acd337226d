// CLIError.swift — a runtime failure of the command line itself (the layers below throw their own errors). Any
// error thrown from `run()` is printed by ArgumentParser as one "Error: …" line, without the usage banner, with exit
// status 1; usage mistakes are `ValidationError`s thrown from `validate()` (usage shown, exit status 64).
struct CLIError: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}
