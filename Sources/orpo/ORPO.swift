// ORPO.swift — the `orpo` command: one subcommand type per verb (swift-argument-parser).
import ArgumentParser
import ORPOKit

@main
struct ORPO: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "orpo",
    abstract: "Fine-tune open-weight LLMs with ORPO (odds ratio preference optimization) on libtorch.",
    version: ORPOVersion.string,
    subcommands: [Train.self, Evaluate.self, Generate.self, Export.self, Inspect.self, DataCommand.self, Curate.self, Bench.self,
                  Rouge.self, Compare.self, Plot.self, Doctor.self, Sweep.self, JudgeCommand.self, Env.self, Demo.self]
  )
}

enum ORPOVersion {
  static let string = "0.1.0"
}
